import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraResult, VoiceResponse } from '../../src/core/results.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** Reads server-sent events from /api/stream until `want` events arrived. */
function readEvents(port: number, want: number, onOpen: () => void): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const got: { event: string; data: unknown }[] = [];
    const req = http.get({ host: '127.0.0.1', port, path: '/api/stream' }, (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.includes(': connected')) {
          buf = buf.replace(/^[\s\S]*?: connected\n\n/, '');
          onOpen();
        }
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) got.push({ event, data: JSON.parse(data) as unknown });
        }
        if (got.length >= want) {
          req.destroy();
          resolve(got);
        }
      });
    });
    req.on('error', (e) => { if (got.length < want) reject(e); });
    setTimeout(() => { req.destroy(); reject(new Error(`only ${got.length} of ${want} events`)); }, 10_000).unref();
  });
}

const result = (id: string, camera: string, alert = false): CameraResult => ({
  id, camera, summary: `summary ${id}`, description: 'd', objects: ['person'], alert, severity: alert ? 'high' : 'none', event_type: 'person',
  route: 'vision', route_reason: 'image input -> vision', model: 'm', latency_ms: 12, ts: new Date().toISOString(), source: 'mqtt',
});
const voice = (id: string, satellite: string): VoiceResponse => ({
  id, satellite, transcript: 'turn on the light', text: 'Done.', route: 'tiny', model: 'm', latency_ms: 300, tts_url: `http://127.0.0.1:8099/media/tts/${id}.wav`,
});

describe('dashboard APIs: live stream, system, voice, UI files; bad input', () => {
  let app: TestApp;
  let base: string;
  let port: number;

  beforeAll(async () => {
    app = await startTestApp({ mqtt: { embedded: { port: 0 } }, cameras: { front_door: {} }, satellites: { kitchen: {} }, memory: { budget_mb: 8000 } });
    port = app.app.ctx.http.port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('/api/stream delivers result, voice and error events as they happen', async () => {
    const ctx = app.app.ctx;
    const events = readEvents(port, 3, () => {
      void ctx.bus.emit('camera.result', { result: result('r1', 'front_door', true), image: Buffer.from([0xff, 0xd8, 0xff]) });
      void ctx.bus.emit('voice.response', voice('v1', 'kitchen'));
      ctx.errors.report('camera', 'sarai/camera/Bad/snapshot', new Error('invalid camera id "Bad"'));
    });
    const got = await events;
    expect(got.map((e) => e.event)).toEqual(['result', 'voice', 'error']);
    expect(got[0]?.data).toMatchObject({ id: 'r1', camera: 'front_door', alert: true, snapshot_url: 'api/events/r1/snapshot.jpg' });
    expect(got[1]?.data).toMatchObject({ satellite: 'kitchen', text: 'Done.' });
    expect(got[2]?.data).toMatchObject({ source: 'camera', error: 'invalid camera id "Bad"' });
  });

  it('/api/stream delivers both phases of a camera alert', async () => {
    const ctx = app.app.ctx;
    const base = { event_id: 'e1', camera: 'front_door', source: 'mqtt', alert: true, severity: 'low', event_type: 'person', latency_ms: 1, ts: new Date().toISOString() } as const;
    const events = readEvents(port, 2, () => {
      void ctx.bus.emit('camera.alert', { alert: { ...base, phase: 'detected', summary: '' }, image: Buffer.from([0xff, 0xd8, 0xff]) });
      void ctx.bus.emit('camera.alert', { alert: { ...base, phase: 'described', summary: 'A visitor.' } });
    });
    const got = await events;
    expect(got.map((e) => e.event)).toEqual(['alert', 'alert']);
    expect(got.map((e) => (e.data as { phase: string }).phase)).toEqual(['detected', 'described']);
    expect(got[1]?.data).toMatchObject({ event_id: 'e1', summary: 'A visitor.' });
  });

  it('drops a stream client when it disconnects', async () => {
    const clients = async (): Promise<unknown> => ((await (await fetch(`${base}/api/system`)).json()) as { live_clients: number }).live_clients;
    const c = new AbortController();
    const r = await fetch(`${base}/api/stream`, { signal: c.signal });
    expect(r.status).toBe(200);
    expect(await clients()).toBe(1);
    c.abort();
    await expect.poll(clients, { timeout: 5_000 }).toBe(0);
    // after the abort, a broadcast must not throw and later clients still work
    await app.app.ctx.bus.emit('voice.response', voice('v0', 'kitchen'));
    const again = readEvents(port, 1, () => void app.app.ctx.bus.emit('voice.response', voice('v2', 'kitchen')));
    expect((await again)[0]?.data).toMatchObject({ id: 'v2' });
  });

  it('/api/system reports version, uptime, memory budget, models, queue and recent errors', async () => {
    const s = (await (await fetch(`${base}/api/system`)).json()) as Record<string, unknown>;
    expect(s).toMatchObject({ version: app.app.ctx.version, status: 'online', budget_mb: 8000, hard_limit_mb: 16000, cameras: ['front_door'], satellites: ['kitchen'], mqtt: { connected: true } });
    expect(typeof s['uptime_s']).toBe('number');
    expect(typeof s['memory_mb']).toBe('number');
    expect(Array.isArray(s['models'])).toBe(true);
    expect(s['errors']).toEqual(expect.arrayContaining([expect.objectContaining({ error: 'invalid camera id "Bad"' })]));
  });

  it('/api/voice lists voice responses newest first, by satellite; bad parameters are 400', async () => {
    await app.app.ctx.bus.emit('voice.response', voice('v3', 'garage'));
    const all = (await (await fetch(`${base}/api/voice`)).json()) as { entries: VoiceResponse[]; satellites: string[] };
    expect(all.entries[0]?.id).toBe('v3');
    expect(all.satellites).toEqual(['garage', 'kitchen']);
    const kitchen = (await (await fetch(`${base}/api/voice?satellite=kitchen&limit=2`)).json()) as { entries: VoiceResponse[] };
    expect(kitchen.entries.map((e) => e.id)).toEqual(['v2', 'v0']);
    for (const q of ["satellite=';%20DROP%20TABLE%20x;--", 'satellite=../etc', 'limit=0', 'limit=201', 'limit=-5', 'limit=1e3', 'limit=abc']) {
      const r = await fetch(`${base}/api/voice?${q}`);
      expect(r.status, q).toBe(400);
    }
  });

  it('timeline API: injected or out-of-range query parameters are a clear 400', async () => {
    for (const q of ["camera=';%20DROP%20TABLE%20events;--", 'camera=Front%20Door', 'limit=0', 'limit=100000', 'limit=-1', 'since=yesterday', 'before=abc', 'alerts=maybe']) {
      const r = await fetch(`${base}/api/events?${q}`);
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { error: string }).error.length, q).toBeGreaterThan(5);
    }
    const ok = (await (await fetch(`${base}/api/events?camera=front_door&alerts=1&limit=50`)).json()) as { events: { id: string }[] };
    expect(ok.events.map((e) => e.id)).toEqual(['r1']);
  });

  it('snapshot and UI URLs with path traversal serve nothing from outside their folders', async () => {
    const probes = [
      '/api/events/..%2F..%2F..%2Fetc%2Fpasswd/snapshot.jpg',
      '/api/events/%2e%2e/snapshot.jpg',
      '/ui/..%2F..%2F..%2Fpackage.json',
      '/ui/%2e%2e%2fapi-try.ts',
      '/ui/..%5c..%5cpackage.json',
      '/ui/.eslintrc',
      '/ui/ui-routes.ts',
      '/ui/',
      '/ui/index.html%00.js',
    ];
    for (const p of probes) {
      const r = await fetch(`${base}${p}`);
      expect([400, 404], p).toContain(r.status);
      const text = await r.text();
      expect(text, p).not.toMatch(/root:|"dependencies"|import /);
    }
    // a raw ../ is normalised by URL parsing before routing: still nothing outside the UI
    const raw = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/ui/../../../../etc/passwd' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    expect(raw).toBe(404);
  });

  it('UI files: correct content types, security headers, ETag revalidation', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    // every URL in the page is relative (works under the ingress prefix)
    expect(html).not.toMatch(/(?:src|href)="\//);
    const js = await fetch(`${base}/ui/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const css = await fetch(`${base}/ui/style.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const etag = css.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    expect(css.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${base}/ui/style.css`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const svg = await fetch(`${base}/ui/icon.svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
  });
});
