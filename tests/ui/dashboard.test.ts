import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCaptioner, type TinyCaptioner } from '../fixtures/onnx/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { haveChromium, launchBrowser, startIngressProxy, type IngressProxy, type TestBrowser } from './browser.js';

const solid = (rgb: [number, number, number]): Promise<Buffer> =>
  sharp({ create: { width: 96, height: 72, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg().toBuffer();

const run = haveMosquitto() && haveChromium();

describe.skipIf(!run)('dashboard in a real browser, behind an ingress-style proxy', () => {
  let tmp: string;
  let broker: Mosquitto;
  let app: TestApp;
  let captioner: TinyCaptioner;
  let proxy: IngressProxy;
  let browser: TestBrowser;
  let probe: MqttProbe;
  let page: Page;
  const failed: string[] = [];
  const outside: string[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sarai-ui-'));
    captioner = await makeTinyCaptioner(path.join(tmp, 'captioner'));
    broker = await startMosquitto();
    app = await startTestApp({
      mqtt: { url: broker.url },
      models: { vision: { backend: 'transformers', model: captioner.dir, image_size: 64 } },
      runtime: { onnx_threads: 1 },
      cameras: { front_door: { name: 'Front door', cooldown_s: 0 }, garage: { name: 'Garage', cooldown_s: 0 } },
      camera_defaults: { cooldown_s: 0 },
      scheduler: { dedup_distance: 0 },
    });
    proxy = await startIngressProxy(app.app.ctx.http.port);
    probe = await MqttProbe.connect(broker.url, ['sarai/camera/+/result']);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    const origin = new URL(proxy.url).origin;
    page.on('request', (r) => {
      if (!r.url().startsWith(proxy.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) outside.push(r.url());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await page.goto(proxy.url);
    await page.locator('#conn.live').waitFor({ timeout: 10_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await probe?.close();
    await proxy?.stop();
    await app?.stop();
    await broker?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function publishSnapshot(camera: string, rgb: [number, number, number]): Promise<Record<string, unknown>> {
    probe.clear();
    await probe.publish(`sarai/camera/${camera}/snapshot`, await solid(rgb));
    const m = await probe.waitForTopic(`sarai/camera/${camera}/result`, 30_000);
    return JSON.parse(m.payload.toString()) as Record<string, unknown>;
  }

  it('shows a snapshot published through mosquitto as a new card without a reload', async () => {
    await expect.poll(() => page.locator('#timeline .empty').count(), { timeout: 10_000 }).toBe(1);
    const result = await publishSnapshot('front_door', [20, 30, 220]);
    const card = page.locator(`#timeline li[data-id="${String(result['id'])}"]`);
    await card.waitFor({ timeout: 10_000 });
    expect(await card.locator('h3').textContent()).toBe(captioner.captionFor([20, 30, 220]));
    expect(await page.locator('#timeline .empty').count()).toBe(0);
    expect(await card.locator('.meta').textContent()).toContain('Front door');
    expect(await card.locator('.route').textContent()).toMatch(/via vision in \d+/);
    // the thumbnail is the stored snapshot, fetched through the ingress prefix
    const img = card.locator('.thumb img');
    await expect.poll(() => img.evaluate((el) => { const i = el as unknown as { complete: boolean; naturalWidth: number; src: string }; return `${i.complete} ${i.naturalWidth} ${i.src}`; }), { timeout: 10_000 }).toMatch(/^true [1-9]/);
  });

  it('filters by camera: other cameras disappear, live results for them stay out', async () => {
    const garage = await publishSnapshot('garage', [220, 20, 20]);
    await page.locator(`#timeline li[data-id="${String(garage['id'])}"]`).waitFor({ timeout: 10_000 });
    await page.selectOption('#f-camera', 'front_door');
    await expect.poll(() => page.locator('#timeline li[data-camera="garage"]').count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('#timeline li[data-camera="front_door"]').count()).toBe(1);
    // a new garage result while filtered is not shown; a front_door one is
    const g2 = await publishSnapshot('garage', [10, 200, 10]);
    const f2 = await publishSnapshot('front_door', [10, 200, 10]);
    await page.locator(`#timeline li[data-id="${String(f2['id'])}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator(`#timeline li[data-id="${String(g2['id'])}"]`).count()).toBe(0);
    await page.selectOption('#f-camera', '');
    await expect.poll(() => page.locator('#timeline li[data-camera="garage"]').count(), { timeout: 10_000 }).toBe(2);
    // newest first
    const ids = await page.locator('#timeline li').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids[0]).toBe(f2['id']);
  });

  it('alerts-only and day filters query the timeline API and say when nothing matches', async () => {
    await page.check('#f-alerts');
    await expect.poll(() => page.locator('#timeline .empty').textContent(), { timeout: 10_000 }).toContain('No events match');
    await page.uncheck('#f-alerts');
    await expect.poll(() => page.locator('#timeline li.event').count(), { timeout: 10_000 }).toBe(4);
    const iso = (d: Date): string => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    const yesterday = new Date(Date.now() - 86_400_000);
    await page.fill('#f-day', iso(yesterday));
    await page.dispatchEvent('#f-day', 'change');
    await expect.poll(() => page.locator('#timeline li.event').count(), { timeout: 10_000 }).toBe(0);
    await page.fill('#f-day', iso(new Date()));
    await page.dispatchEvent('#f-day', 'change');
    await expect.poll(() => page.locator('#timeline li.event').count(), { timeout: 10_000 }).toBe(4);
    await page.click('#f-clear');
  });

  it('"Try it" describes an uploaded image with the real model', async () => {
    await page.click('#tab-try');
    await page.locator('#panel-try').waitFor({ state: 'visible' });
    await page.setInputFiles('#describe-file', { name: 'green.png', mimeType: 'image/png', buffer: await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: 10, g: 230, b: 10 } } }).png().toBuffer() });
    await page.click('#try-describe button[type=submit]');
    const out = page.locator('#describe-out');
    await expect.poll(() => out.textContent(), { timeout: 30_000 }).toContain(captioner.captionFor([10, 230, 10]));
    expect(await out.textContent()).toMatch(/via vision/);
  });

  it('"Try it" shows the server\'s clear message for a file that is not an image', async () => {
    await page.setInputFiles('#describe-file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('definitely not a PNG') });
    await page.click('#try-describe button[type=submit]');
    await expect.poll(() => page.locator('#describe-out.error').textContent(), { timeout: 10_000 }).toMatch(/not an image/);
    failed.splice(failed.findIndex((f) => f.startsWith('415 ')), 1);
  });

  it('"Try it" digest: counts per camera from the database, and says the text is the plain one from the counts (no text model here)', async () => {
    await page.click('#tab-try');
    // keyboard only: period select, camera select, submit
    await page.focus('#digest-period');
    await page.selectOption('#digest-period', 'today');
    await page.locator('#digest-camera option[value="garage"]').waitFor({ state: 'attached', timeout: 10_000 });
    await page.focus('#try-digest button[type=submit]');
    await page.keyboard.press('Enter');
    const out = page.locator('#digest-out');
    await out.locator('.digest-text').waitFor({ timeout: 30_000 });
    // the four results published above: two per camera, counted by SQLite
    expect(await out.locator('tr[data-camera="front_door"] td').first().textContent()).toBe('2');
    expect(await out.locator('tr[data-camera="garage"] td').first().textContent()).toBe('2');
    expect(await out.locator('caption').textContent()).toMatch(/^Counted from the database: 4 events, \d+ alerts$/);
    expect(await out.locator('[data-source]').getAttribute('data-source')).toBe('counts');
    expect(await out.locator('[data-source]').textContent()).toMatch(/^Plain text from the counts \(the text model failed: /);
    expect(await out.locator('.digest-text').textContent()).toMatch(/^4 events( and \d+ alerts?)? across 2 cameras today\. front_door: 2 events/);
    // one camera
    await page.selectOption('#digest-camera', 'garage');
    await page.click('#try-digest button[type=submit]');
    await expect.poll(() => out.locator('tr').count(), { timeout: 30_000 }).toBe(2); // header + garage
    expect(await out.locator('tr[data-camera="garage"]').count()).toBe(1);
    await page.selectOption('#digest-camera', '');
  });

  it('"Try it" digest: a date period; a future date shows the server\'s clear message', async () => {
    expect(await page.locator('#digest-date').isDisabled()).toBe(true);
    await page.selectOption('#digest-period', 'date');
    expect(await page.locator('#digest-date').isDisabled()).toBe(false);
    const iso = (d: Date): string => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    await page.fill('#digest-date', iso(new Date(Date.now() - 2 * 86_400_000)));
    await page.click('#try-digest button[type=submit]');
    const out = page.locator('#digest-out');
    await expect.poll(() => out.locator('.digest-text').textContent(), { timeout: 30_000 }).toMatch(/^No camera events on \d{4}-\d{2}-\d{2}\.$/);
    expect(await out.locator('table').count()).toBe(0);
    await page.fill('#digest-date', iso(new Date(Date.now() + 2 * 86_400_000)));
    await page.click('#try-digest button[type=submit]');
    await expect.poll(() => page.locator('#digest-out.error [role=alert]').textContent(), { timeout: 10_000 }).toMatch(/digest: \d{4}-\d{2}-\d{2} is in the future/);
    failed.splice(failed.findIndex((f) => f.startsWith('400 ') && f.endsWith('/api/digest')), 1);
    await page.selectOption('#digest-period', 'today');
  });

  it('"Try it" digest: model prose is shown as text with its model name, never parsed as HTML', async () => {
    // the real server has no text model here: this one response is the sarai/digest JSON a text model gives
    const hostile = '<img src=x onerror="document.body.dataset.pwned=1">Quiet day <b>at home</b>.';
    await page.route('**/api/digest', (r) => r.fulfill({
      status: 200, contentType: 'application/json',
      body: JSON.stringify({ id: 'd1', period: 'today', since: new Date().toISOString(), until: new Date().toISOString(), cameras: [{ camera: 'front_door', events: 1, alerts: 1, objects: { '<i>person</i>': 1 } }], totals: { events: 1, alerts: 1, cameras: 1 }, text: hostile, text_source: 'model', model: 'LFM2-1.2B', ts: new Date().toISOString() }),
    }));
    try {
      await page.click('#try-digest button[type=submit]');
      const out = page.locator('#digest-out');
      await expect.poll(() => out.locator('.digest-text').textContent(), { timeout: 10_000 }).toBe(hostile);
      expect(await out.locator('img, b, i').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> } } }).document.body.dataset['pwned'])).toBeUndefined();
      expect(await out.locator('[data-source]').getAttribute('data-source')).toBe('model');
      expect(await out.locator('[data-source]').textContent()).toBe('Text written by LFM2-1.2B around the counts');
      expect(await out.locator('tr[data-camera="front_door"] td').last().textContent()).toBe('<i>person</i> ×1');
    } finally {
      await page.unroute('**/api/digest');
    }
  });

  it('the System and Voice tabs load, and keyboard arrows move between tabs', async () => {
    await page.click('#tab-system');
    await expect.poll(() => page.locator('#system').textContent(), { timeout: 10_000 }).toContain('Memory budget');
    expect(await page.locator('#system table').first().textContent()).toContain('Vision');
    await page.focus('#tab-system');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.locator('#tab-try').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.locator('#tab-voice').getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => page.locator('#voice-status').textContent()).toContain('No voice exchanges yet');
  });

  it('the System page shows the model download (file, bytes, %, ETA), then the "no models yet" item', async () => {
    const MB = 1_048_576;
    const pulling = {
      state: 'pulling', files_total: 15, files_done: 2, received_bytes: 300 * MB, total_bytes: 500 * MB, percent: 60, rate_bps: 10 * MB, eta_s: 20,
      current: { role: 'vision', file: '/data/models/mmproj-LFM2-VL-450M-Q8_0.gguf', received_bytes: 50 * MB }, failed: [],
    };
    const extra: Record<string, unknown> = { downloads: pulling };
    app.app.ctx.bridge.addStateProvider(() => extra);
    await page.click('#tab-system');
    await expect.poll(() => page.locator('#system').textContent(), { timeout: 10_000 }).toContain('Downloading 3 of 15: mmproj-LFM2-VL-450M-Q8_0.gguf');
    const text = (await page.locator('#system').textContent()) ?? '';
    expect(text).toContain('300 MB of 500 MB · 60% · 10.0 MB/s');
    expect(text).toMatch(/10\.0 MB\/s · about \S.* left/);
    expect(await page.locator('#system [role=progressbar]').getAttribute('aria-valuenow')).toBe('60');
    // while pulling the page refreshes every 2 s: the next state shows without a click
    extra['downloads'] = { ...pulling, state: 'no_route', percent: undefined, failed: [{ role: 'vision', file: '/data/models/x.gguf', error: 'cannot reach the hub' }] };
    extra['models_notice'] = 'no models yet: run `sarai models pull --all` or enable downloads (runtime.allow_downloads: true)';
    await expect.poll(() => page.locator('#system .notice').textContent(), { timeout: 15_000 }).toContain('no models yet: run `sarai models pull --all`');
    expect(await page.locator('#system').textContent()).toContain('The model hub could not be reached');
    delete extra['downloads'];
    delete extra['models_notice'];
  });

  it('Voice tab shows a live voice response with its audio player under the ingress prefix', async () => {
    // the race that wiped it: the tab's list answer is made before the live event and reaches
    // the page after it; hold that answer until the live item is shown
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    await page.route('**/api/voice?*', async (route) => {
      const answer = await route.fetch();
      held = true;
      await gate;
      await route.fulfill({ response: answer });
    });
    await page.click('#tab-voice');
    await expect.poll(() => held, { timeout: 10_000 }).toBe(true);
    await app.app.ctx.bus.emit('voice.response', {
      id: 'v1', satellite: 'kitchen', transcript: 'is the garage open', text: 'The garage door is closed.', route: 'tiny', model: 'LFM2-1.2B',
      latency_ms: 420, tts_url: 'http://10.11.12.13:8099/media/tts/abcdef0123456789.wav',
    });
    const item = page.locator('#voice-list li[data-satellite="kitchen"]');
    await item.waitFor({ timeout: 10_000 });
    const listed = page.waitForResponse((r) => r.url().includes('/api/voice?'));
    release();
    await listed;
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100))); // the page applies the answer
    await page.unroute('**/api/voice?*');
    expect(await item.count()).toBe(1);
    expect(await item.textContent()).toContain('The garage door is closed.');
    // the LAN URL media players use becomes a relative one: fetched through ingress, same origin
    const src = await item.locator('audio').evaluate((el) => (el as unknown as { src: string }).src);
    expect(src).toBe(`${proxy.url}media/tts/abcdef0123456789.wav`);
    expect(await page.locator('#v-satellite option[value="kitchen"]').count()).toBe(1);
  });

  it('every request stayed under the ingress prefix and none failed', () => {
    expect(outside).toEqual([]);
    expect(failed).toEqual([]);
    expect(proxy.forwarded).toContain('/api/stream');
    expect(proxy.forwarded.some((p) => p.startsWith('/api/events?'))).toBe(true);
    expect(proxy.forwarded.some((p) => /^\/api\/events\/[^/]+\/snapshot\.jpg/.test(p))).toBe(true);
  });
});
