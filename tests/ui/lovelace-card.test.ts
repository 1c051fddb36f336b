import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraResult } from '../../src/core/results.js';
import { createAccessGuard } from '../../src/http/access.js';
import { CARD_PATH, registerCardRoute } from '../../src/http/card-route.js';
import { HttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log/logger.js';
import { haveChromium, launchBrowser, type TestBrowser } from './browser.js';
import { demoResults, sceneJpeg } from './demo-scenes.js';

/**
 * The Lovelace card in real Chromium. The card is loaded, as HA's frontend loads a resource,
 * cross-origin from the bridge's /card/ route; the page plays Home Assistant:
 * a `hass` object shaped like the frontend's (states replaced object by object, entities
 * registry, callService, callWS, connection.subscribeMessage, theme variables), served with
 * HA's image proxy (which checks each image entity's access_token as HA does) by a small HTTP
 * server on another loopback origin.
 */
const UPDATE = process.env['SARAI_UPDATE_SCREENSHOTS'] === '1';
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const BRIDGE_TOKEN = 'bridge-secret-token-123';

const LIGHT = '--primary-text-color:#212121;--secondary-text-color:#727272;--card-background-color:#fff;--secondary-background-color:#f5f5f5;--divider-color:#e0e0e0;--primary-color:#03a9f4;background:#fafafa';
const DARK = '--primary-text-color:#e1e1e1;--secondary-text-color:#9b9b9b;--card-background-color:#1c1c1c;--secondary-background-color:#282828;--divider-color:#3c3c3c;--primary-color:#03a9f4;background:#111';

interface HaState { entity_id: string; state: string; attributes: Record<string, unknown>; last_changed: string; last_updated: string }

const sensorId = (camera: string) => `sensor.${camera}_sarai_description`;
const imageId = (camera: string) => `image.${camera}_sarai_last_described_image`;

function sensorState(r: CameraResult): HaState {
  return { entity_id: sensorId(r.camera), state: r.summary, attributes: { ...r, friendly_name: `${r.camera} (SARAi) Description` }, last_changed: r.ts, last_updated: r.ts };
}

function imageState(camera: string, accessToken: string, ts: string): HaState {
  return {
    entity_id: imageId(camera), state: ts, last_changed: ts, last_updated: ts,
    attributes: { access_token: accessToken, entity_picture: `/api/image_proxy/${imageId(camera)}?token=${accessToken}`, friendly_name: `${camera} image` },
  };
}

function result(camera: string, n: number, extra: Partial<CameraResult> = {}): CameraResult {
  return {
    id: `${camera}_${n}`, camera, summary: `Event ${n} at ${camera}`, description: `Full description of event ${n}.`, objects: ['person'],
    alert: false, severity: 'low', event_type: 'person', route: 'omni', route_reason: 'image input -> omni', model: 'test', latency_ms: 10,
    ts: new Date(Date.now() - (1000 - n) * 60_000).toISOString(), source: 'mqtt', ...extra,
  };
}

/** An image entity as the fake HA serves it: its current scene and its last two access tokens. */
interface ImageServed { token: string; previous?: string; scene: string }

describe.skipIf(!haveChromium())('sarai-timeline-card in Chromium', () => {
  let http: HttpServer;
  let bridge: string;
  let ha: Server;
  let HA: string;
  /** What the fake HA serves to the page being opened. */
  let served: { page: string; images: Record<string, ImageServed>; holdUntilRotated?: string } = { page: '', images: {} };
  let browser: TestBrowser;
  const jpeg: Record<string, Buffer> = {};

  beforeAll(async () => {
    http = new HttpServer('127.0.0.1', 0, createLogger('silent'));
    // the bridge's real guard with a token: anything but public routes needs it
    http.setGuard(createAccessGuard({ addon: false, token: BRIDGE_TOKEN, host: '127.0.0.1' }));
    registerCardRoute(http);
    await http.start();
    bridge = `http://127.0.0.1:${http.port}`;
    ha = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/favicon.ico') {
        res.writeHead(404).end();
        return;
      }
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(served.page);
        return;
      }
      const m = /^\/api\/image_proxy\/([a-z0-9_.]+)$/.exec(url.pathname);
      const img = m ? served.images[m[1] ?? ''] : undefined;
      if (img && served.holdUntilRotated && url.searchParams.get('token') === img.token && img.token === served.holdUntilRotated) {
        // forces the race a slow network makes: this request is answered only after HA rotated the token
        const wait = setInterval(() => {
          if (img !== served.images[m?.[1] ?? '']) {
            clearInterval(wait);
            ha.emit('request', req, res);
          }
        }, 5);
        return;
      }
      // HA's ImageView: one of the entity's last two access_tokens (HA keeps a deque of 2, so a
      // page still holding the previous one loads the current image), or 401
      const token = url.searchParams.get('token');
      if (!img || (token !== img.token && token !== img.previous)) {
        res.writeHead(401).end('unauthorized');
        return;
      }
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg[img.scene]);
    });
    await new Promise<void>((r) => ha.listen(0, '127.0.0.1', r));
    // HA by name, the bridge by address: two origins, as in a real house
    HA = `http://localhost:${(ha.address() as AddressInfo).port}`;
    for (const s of ['door_day', 'driveway', 'garden', 'back_door', 'door_night']) jpeg[s] = await sceneJpeg(s);
    browser = await launchBrowser({ viewport: { width: 390, height: 844 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await http?.stop();
    ha?.closeAllConnections();
    await new Promise((r) => ha?.close(r));
  });

  /** Opens the fake HA page with the card mounted; records every URL the page asks for. */
  async function open(config: Record<string, unknown>, opts: { dark?: boolean; images?: Record<string, ImageServed>; history?: Record<string, unknown> } = {}) {
    const page = await browser.context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    served = { page: testPage(opts.dark ?? false, opts.history ?? {}), images: opts.images ?? {} };
    await page.goto(`${HA}/`);
    await page.waitForFunction("customElements.get('sarai-timeline-card')", undefined, { timeout: 20_000 })
      .catch((err: unknown) => { throw new Error(`the card did not load: ${String(err)}; page said: ${problems.join(' | ')}`); });
    await page.evaluate(`mount(${JSON.stringify(config)})`);
    return { page, requests, problems };
  }

  function testPage(dark: boolean, history: Record<string, unknown>): string {
    return `<!doctype html><html><head><meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"></head>
<body style="margin:0;padding:8px;font-family:sans-serif;${dark ? DARK : LIGHT}"><div id="root"></div>
<script>
  window.calls = [];
  let states = {};
  let entities = {};
  const themes = { darkMode: ${dark}, theme: 'default', themes: {} };
  function makeHass() {
    return {
      states, entities, themes, language: 'en', locale: { language: 'en' }, user: { name: 'Test', is_admin: true },
      callService: async (domain, service, data) => { window.calls.push({ domain, service, data }); },
      callWS: async (msg) => { window.calls.push({ ws: msg }); return ${JSON.stringify(history)}; },
      connection: { subscribeMessage: async (cb, msg) => { window.calls.push({ sub: msg }); return async () => {}; } },
    };
  }
  // HA replaces the state object of an entity that changed, and hands the card a new hass
  window.setStates = (list, reg) => {
    states = { ...states };
    for (const s of list) states[s.entity_id] = s;
    if (reg) entities = { ...entities, ...reg };
    if (window.card) window.card.hass = makeHass();
  };
  window.rowCount = () => card.shadowRoot.querySelectorAll('li').length;
  window.loadedImages = () => [...card.shadowRoot.querySelectorAll('img.thumb')].filter((i) => i.complete && i.naturalWidth > 0).length;
  // the stub config in the visual editor, as HA's card editor uses them; one toggle changed
  window.tryEditor = async () => {
    const Card = customElements.get('sarai-timeline-card');
    const editor = Card.getConfigElement();
    editor.setConfig(Card.getStubConfig());
    editor.hass = makeHass();
    document.body.append(editor);
    const changed = new Promise((r) => editor.addEventListener('config-changed', (e) => r(e.detail.config)));
    editor.shadowRoot.querySelector('input[type=checkbox]').click();
    return { stub: Card.getStubConfig(), changed: await changed, listed: window.customCards.map((c) => c.type) };
  };
  window.mount = async (config) => {
    await customElements.whenDefined('sarai-timeline-card');
    const card = document.createElement('sarai-timeline-card');
    card.setConfig(config);
    card.hass = makeHass();
    document.getElementById('root').append(card);
    window.card = card;
  };
</script>
<script type="module" src="${bridge}${CARD_PATH}"></script></body></html>`;
  }

  const setStates = (page: Page, list: HaState[], reg?: Record<string, { device_id: string }>) =>
    page.evaluate(`setStates(${JSON.stringify(list)}, ${JSON.stringify(reg ?? null)})`);
  const rows = (page: Page) => page.locator('sarai-timeline-card li');
  const registry = (cameras: string[]) => Object.fromEntries(cameras.flatMap((c) => [[sensorId(c), { device_id: `dev_${c}` }], [imageId(c), { device_id: `dev_${c}` }]]));

  it('is served public, cacheable and cross-origin, without the bridge token', async () => {
    const res = await fetch(`${bridge}${CARD_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toMatch(/public/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const again = await fetch(`${bridge}${CARD_PATH}`, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    // the guard is live: a non-public route still refuses a request without the token
    expect((await fetch(`${bridge}/card/other.js`)).status).not.toBe(200);
  });

  it('renders with no events, and asks HA for no history when no SARAi camera exists', async () => {
    const { page, problems } = await open({ type: 'custom:sarai-timeline-card' });
    await setStates(page, [{ entity_id: 'light.kitchen', state: 'on', attributes: {}, last_changed: '', last_updated: '' }]);
    await page.locator('sarai-timeline-card .empty').waitFor();
    expect(await page.locator('sarai-timeline-card .empty').textContent()).toBe('No camera events yet.');
    expect(await rows(page).count()).toBe(0);
    expect(await page.evaluate('window.calls')).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders one event with its image through HA\'s image proxy, and no URL needs the bridge token', async () => {
    const r = result('front_door', 1, { severity: 'high', alert: true, objects: ['person', 'parcel'] });
    const { page, requests, problems } = await open({ type: 'custom:sarai-timeline-card' }, { images: { [imageId('front_door')]: { token: 'tok1', scene: 'door_day' } } });
    await setStates(page, [sensorState(r), imageState('front_door', 'tok1', r.ts)], registry(['front_door']));
    await rows(page).first().waitFor();
    expect(await rows(page).count()).toBe(1);
    const row = rows(page).first();
    expect(await row.locator('.summary').textContent()).toBe('Event 1 at front_door');
    expect(await row.locator('.sev').textContent()).toBe('high · alert');
    expect(await row.locator('.chip').allTextContents()).toEqual(['person', 'parcel']);
    const img = row.locator('img.thumb');
    expect(await img.getAttribute('src')).toBe(`/api/image_proxy/${imageId('front_door')}?token=tok1`);
    await page.waitForFunction('loadedImages() === 1');
    // the history was asked for once, for the summary sensor, attributes included
    const calls = (await page.evaluate('window.calls')) as { ws?: Record<string, unknown> }[];
    expect(calls.filter((c) => c.ws)).toHaveLength(1);
    expect(calls[0]?.ws).toMatchObject({ type: 'history/history_during_period', entity_ids: [sensorId('front_door')], no_attributes: false });
    // every request goes to HA (page, proxy) except the card's own file; none carries the bridge token
    const others = requests.filter((u) => !u.startsWith(`${HA}/`));
    expect(others).toEqual([`${bridge}${CARD_PATH}`]);
    expect(requests.some((u) => u.includes(BRIDGE_TOKEN))).toBe(false);
    expect(requests.filter((u) => u.includes('/api/image_proxy/'))).not.toHaveLength(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders 200 events from HA history, newest first, and filters by camera and alerts', async () => {
    const cams = ['front_door', 'garden'];
    const history = Object.fromEntries(cams.map((c, ci) => [sensorId(c),
      Array.from({ length: 100 }, (_, i) => ({ s: `Event ${i}`, a: result(c, i * 2 + ci, { alert: i % 10 === 0 }), lu: 0 }))]));
    const { page, problems } = await open({ type: 'custom:sarai-timeline-card', max_events: 200 }, { history });
    await setStates(page, cams.map((c) => sensorState(result(c, 198 + (c === 'garden' ? 1 : 0)))), registry(cams));
    await page.waitForFunction('rowCount() === 200');
    const ids = await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids[0]).toBe('garden_199');
    expect(ids[199]).toBe('front_door_0');
    const select = page.locator('sarai-timeline-card select');
    await select.selectOption('garden');
    expect(await rows(page).count()).toBe(100);
    expect(await rows(page).evaluateAll((els) => els.every((e) => e.getAttribute('data-id')?.startsWith('garden_')))).toBe(true);
    await page.locator('sarai-timeline-card input[type=checkbox]').check();
    expect(await rows(page).count()).toBe(10);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('updates live when a state changes, shows "what changed", and keeps the image of each event it saw arrive', async () => {
    const images: Record<string, ImageServed> = { [imageId('front_door')]: { token: 'a1', scene: 'door_night' } };
    const { page, problems } = await open({ type: 'custom:sarai-timeline-card' }, { images });
    served.holdUntilRotated = 'a1';
    const first = result('front_door', 1);
    await setStates(page, [sensorState(first), imageState('front_door', 'a1', first.ts)], registry(['front_door']));
    await rows(page).first().waitFor();
    // a new result, then its image (in that order, as SARAi publishes them); the proxy token rotates
    // camera memory's field as SARAi publishes it: objects new and gone, and the model's words
    const changed = { since_id: 'front_door_1', since_ts: first.ts, new: ['parcel'], left: [], text: 'a parcel is now on the step' };
    const next = result('front_door', 2, { summary: 'A parcel appeared on the step.', changed });
    await setStates(page, [sensorState(next)]);
    await page.waitForFunction('rowCount() === 2');
    // the page may still be loading the live image with a1 when HA rotates: HA accepts both
    images[imageId('front_door')] = { token: 'a2', previous: 'a1', scene: 'door_day' };
    await setStates(page, [imageState('front_door', 'a2', next.ts)]);
    const top = rows(page).first();
    expect(await top.getAttribute('data-id')).toBe('front_door_2');
    expect(await top.locator('.changed').textContent()).toBe('Changed: a parcel is now on the step');
    expect(await rows(page).nth(1).locator('.changed').count()).toBe(0);
    await page.waitForFunction("card.shadowRoot.querySelector('li img.thumb')?.getAttribute('src')?.startsWith('blob:')");
    // no polling: the history was fetched once, nothing else was asked of HA
    const calls = (await page.evaluate('window.calls')) as unknown[];
    expect(calls).toHaveLength(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a summary holding HTML and script as text, and a tap opens the full description', async () => {
    const evil = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold</b>';
    const r = result('back_door', 5, { summary: evil, description: `${evil} and more`, objects: ['<i>x</i>'] });
    const { page, problems } = await open({ type: 'custom:sarai-timeline-card' });
    await setStates(page, [sensorState(r)]);
    const row = rows(page).first();
    await row.waitFor();
    expect(await row.locator('.summary').textContent()).toBe(evil);
    expect(await row.locator('.summary *').count()).toBe(0);
    expect(await row.locator('.chip').textContent()).toBe('<i>x</i>');
    await row.click();
    const dialog = page.locator('sarai-timeline-card dialog');
    await dialog.waitFor();
    expect(await dialog.locator('p').textContent()).toBe(`${evil} and more`);
    expect(await dialog.locator('p *').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    await dialog.locator('button').click();
    await dialog.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('ask mode publishes the question through mqtt.publish and shows the answer from the Last answer sensor', async () => {
    const { page, problems } = await open({ type: 'custom:sarai-timeline-card', mode: 'ask' });
    const answerId = 'sensor.sarai_omni_bridge_last_answer';
    await setStates(page, [{ entity_id: answerId, state: 'old', attributes: { id: 'old', text: 'old', route: 'chat', route_reason: '', model: 'm', latency_ms: 1, tokens: 1 }, last_changed: '', last_updated: '' }]);
    await page.locator('sarai-timeline-card input[type=text]').fill('Who came to the front door?');
    await page.locator('sarai-timeline-card button').click();
    await page.locator('sarai-timeline-card .answer').waitFor();
    const calls = (await page.evaluate('window.calls')) as { domain: string; service: string; data: { topic: string; payload: string } }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ domain: 'mqtt', service: 'publish', data: { topic: 'sarai/ask' } });
    const sent = JSON.parse(calls[0]?.data.payload ?? '{}') as { text: string; id: string };
    expect(sent.text).toBe('Who came to the front door?');
    expect(sent.id).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/); // what sarai/ask accepts as an id
    // another client's answer is not ours; ours is shown as text
    await setStates(page, [{ entity_id: answerId, state: 'x', attributes: { id: 'someone-else', text: 'not for us', route: 'chat', route_reason: 'r', model: 'm', latency_ms: 1, tokens: 1 }, last_changed: '', last_updated: '' }]);
    expect(await page.locator('sarai-timeline-card .answer').textContent()).toBe('Thinking…');
    await setStates(page, [{ entity_id: answerId, state: 'A courier', attributes: { id: sent.id, text: 'A courier at <b>14:02</b>.', route: 'chat', route_reason: 'r', model: 'm', latency_ms: 1, tokens: 5 }, last_changed: '', last_updated: '' }]);
    await page.waitForFunction("card.shadowRoot.querySelector('.answer')?.textContent === 'A courier at <b>14:02</b>.'");
    expect(problems).toEqual([]);
    await page.close();
  });

  it('offers a stub config and a visual editor that reports config-changed', async () => {
    const { page } = await open({ type: 'custom:sarai-timeline-card' });
    const got = (await page.evaluate('tryEditor()')) as { stub: unknown; changed: unknown; listed: string[] };
    expect(got.stub).toMatchObject({ type: 'custom:sarai-timeline-card' });
    expect(got.changed).toMatchObject({ alerts_only: true });
    expect(got.listed).toContain('sarai-timeline-card');
    await page.close();
  });

  it('looks right at phone width in the dark theme (docs/screenshot-card-phone.png)', async () => {
    const demos = await demoResults();
    const images = Object.fromEntries(demos.map((d) => [imageId(d.result.camera), { token: `t_${d.result.camera}`, scene: 'door_day' }]));
    images[imageId('driveway')] = { token: 't_driveway', scene: 'driveway' };
    images[imageId('garden')] = { token: 't_garden', scene: 'garden' };
    images[imageId('back_door')] = { token: 't_back_door', scene: 'back_door' };
    const { page, problems } = await open({ type: 'custom:sarai-timeline-card', title: 'Cameras' }, { dark: true, images });
    const cams = [...new Set(demos.map((d) => d.result.camera))];
    for (const d of demos) {
      const r = d.result.camera === 'front_door' && d.result.severity === 'medium' ? { ...d.result, changed: { since_id: 'x', since_ts: d.result.ts, new: ['parcel'], left: [] } } : d.result;
      await setStates(page, [sensorState(r), imageState(r.camera, `t_${r.camera}`, r.ts)], registry(cams));
    }
    await page.waitForFunction('loadedImages() === 4');
    const png = await page.locator('sarai-timeline-card').screenshot();
    expect(png.length).toBeGreaterThan(10_000);
    const width = await page.locator('sarai-timeline-card').evaluate((e) => e.getBoundingClientRect().width);
    expect(width).toBeLessThanOrEqual(390); // no horizontal overflow at phone width
    if (UPDATE) await writeFile(path.join(DOCS, 'screenshot-card-phone.png'), png);
    expect(problems).toEqual([]);
    await page.close();
  });
});
