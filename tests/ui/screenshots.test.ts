import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRouter } from '../../src/router/types.js';
import { makeTinyCaptioner } from '../fixtures/onnx/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveChromium, launchBrowser, type TestBrowser } from './browser.js';
import { DEMO_VOICE, demoResults, sceneJpeg } from './demo-scenes.js';

/**
 * Renders the timeline and system pages with demo data (the documentation screenshots).
 * They are written to docs/ only with SARAI_UPDATE_SCREENSHOTS=1, so a test run leaves the
 * tree clean; every run checks the pages render without a console error.
 */
const UPDATE = process.env['SARAI_UPDATE_SCREENSHOTS'] === '1';
const DOCS = path.resolve(import.meta.dirname, '../../docs');

describe.skipIf(!haveChromium())('dashboard screenshots (demo data)', () => {
  let tmp: string;
  let app: TestApp;
  let browser: TestBrowser;
  let base: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sarai-shots-'));
    const captioner = await makeTinyCaptioner(path.join(tmp, 'captioner'));
    app = await startTestApp({
      mqtt: { embedded: { port: 0 } },
      models: {
        vision: { name: 'Florence-2-base', backend: 'transformers', model: captioner.dir, max_memory_mb: 450, image_size: 64 },
        expert: { name: 'SOLAR-10.7B', backend: 'ollama', url: 'http://127.0.0.1:9', model: 'solar' },
        tts: { name: 'espeak-ng', backend: 'espeak', voice: 'en' },
      },
      runtime: { onnx_threads: 1 },
      cameras: { front_door: { name: 'Front door' }, driveway: { name: 'Driveway' }, garden: { name: 'Garden' }, back_door: { name: 'Back door' } },
      satellites: { kitchen: { name: 'Kitchen' }, living_room: { name: 'Living room' } },
    });
    const ctx = app.app.ctx;
    const router = (ctx as unknown as { router?: ModelRouter }).router;
    // load the vision model for real, so the System page shows a loaded model
    if (router) await router.describe({ prompt: 'describe', images: [await sceneJpeg('garden')] }).catch(() => undefined);
    for (const r of await demoResults()) await ctx.bus.emit('camera.result', r);
    for (const v of DEMO_VOICE) await ctx.bus.emit('voice.response', v);
    ctx.errors.report('camera', 'sarai/camera/Front Door/snapshot', new Error('invalid camera id "Front Door": use 1-64 characters of a-z, 0-9 and _'));
    base = `http://127.0.0.1:${ctx.http.port}/`;
    browser = await launchBrowser({ viewport: { width: 1024, height: 1000 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function shot(hash: string, ready: string, file: string, opts: { colorScheme?: 'light' | 'dark'; width?: number; height?: number; expandFirst?: boolean } = {}): Promise<Buffer> {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.emulateMedia({ colorScheme: opts.colorScheme ?? 'light' });
    await page.setViewportSize({ width: opts.width ?? 1024, height: opts.height ?? 1000 });
    await page.goto(`${base}${hash}`);
    await page.locator(ready).first().waitFor({ timeout: 10_000 });
    await page.locator('#conn.live').waitFor({ timeout: 10_000 });
    if (opts.expandFirst) await page.locator('#timeline details summary').first().click();
    // every thumbnail decoded before the picture is taken
    await page.waitForFunction('[...document.images].every((i) => i.complete || i.offsetParent === null)', undefined, { timeout: 10_000 });
    const png = await page.screenshot({ fullPage: false });
    await page.close();
    expect(problems).toEqual([]);
    if (UPDATE) await writeFile(path.join(DOCS, file), png);
    return png;
  }

  it('timeline: five demo events, newest first, alerts marked', async () => {
    const png = await shot('#timeline', '#timeline li.event', 'screenshot-timeline.png', { expandFirst: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('system: models, memory budget, recent errors', async () => {
    const png = await shot('#system', '#system table', 'screenshot-system.png');
    expect(png.length).toBeGreaterThan(10_000);
  });

  it('renders on a phone in dark mode too', async () => {
    const png = await shot('#timeline', '#timeline li.event', 'screenshot-phone-dark.png', { colorScheme: 'dark', width: 390, height: 844 });
    expect(png.length).toBeGreaterThan(10_000);
  });
});
