import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraResult } from '../../src/core/results.js';
import { publishCameraResult } from '../../src/publishers/camera/index.js';
import { TimelineStore } from '../../src/publishers/timeline/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { solidJpeg, tempDir } from './helpers.js';

function result(i: number, over: Partial<CameraResult> = {}): CameraResult {
  return {
    id: `r_${i}`, camera: i % 2 ? 'front_door' : 'garden', summary: `scene ${i}`, description: `scene ${i} in detail`, objects: ['person'],
    alert: i % 3 === 0, severity: i % 3 === 0 ? 'medium' : 'none', event_type: 'person', route: 'vision', route_reason: 'image input -> vision',
    model: 'tiny', latency_ms: 12, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), source: 'mqtt', ...over,
  };
}

describe('timeline API (SQLite store behind GET /api/events)', () => {
  let t: TestApp;
  let base: string;
  let jpeg: Buffer;

  beforeAll(async () => {
    t = await startTestApp({ mqtt: { embedded: { host: '127.0.0.1', port: 0 } } });
    base = `http://127.0.0.1:${t.app.ctx.http.port}`;
    jpeg = await solidJpeg([10, 200, 10]);
    for (let i = 1; i <= 7; i++) await publishCameraResult(t.app.ctx, result(i, i === 5 ? { label: 'person', zones: ['porch'], source: 'frigate' } : {}), jpeg);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = async (p: string) => {
    const r = await fetch(base + p);
    return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
  };
  const json = (b: Buffer) => JSON.parse(b.toString()) as { events: Record<string, unknown>[]; next_before: number | null; error?: string };

  it('lists newest first with every field and a relative snapshot URL', async () => {
    const r = await get('/api/events');
    expect(r.status).toBe(200);
    const { events, next_before } = json(r.body);
    expect(events.map((e) => e['id'])).toEqual(['r_7', 'r_6', 'r_5', 'r_4', 'r_3', 'r_2', 'r_1']);
    expect(next_before).toBeNull();
    expect(events[2]).toEqual({
      id: 'r_5', camera: 'front_door', ts: '2026-01-01T00:00:05.000Z', summary: 'scene 5', description: 'scene 5 in detail', objects: ['person'],
      alert: false, severity: 'none', event_type: 'person', route: 'vision', route_reason: 'image input -> vision', model: 'tiny', latency_ms: 12,
      label: 'person', zones: ['porch'], source: 'frigate', snapshot_url: 'api/events/r_5/snapshot.jpg',
    });
  });

  it('filters by camera, time and alerts, and pages with the cursor', async () => {
    expect(json((await get('/api/events?camera=garden')).body).events.map((e) => e['id'])).toEqual(['r_6', 'r_4', 'r_2']);
    expect(json((await get('/api/events?alerts=1')).body).events.map((e) => e['id'])).toEqual(['r_6', 'r_3']);
    const since = encodeURIComponent('2026-01-01T00:00:03Z');
    expect(json((await get(`/api/events?since=${since}&until=${Date.UTC(2026, 0, 1, 0, 0, 5)}`)).body).events.map((e) => e['id'])).toEqual(['r_4', 'r_3']);
    const p1 = json((await get('/api/events?limit=3')).body);
    expect(p1.events.map((e) => e['id'])).toEqual(['r_7', 'r_6', 'r_5']);
    expect(typeof p1.next_before).toBe('number');
    const p2 = json((await get(`/api/events?limit=3&before=${p1.next_before}`)).body);
    expect(p2.events.map((e) => e['id'])).toEqual(['r_4', 'r_3', 'r_2']);
  });

  it('serves one event and its snapshot bytes', async () => {
    const one = await get('/api/events/r_3');
    expect(one.status).toBe(200);
    expect(JSON.parse(one.body.toString())).toMatchObject({ id: 'r_3', alert: true, severity: 'medium' });
    const snap = await get('/api/events/r_3/snapshot.jpg');
    expect(snap.status).toBe(200);
    expect(snap.type).toBe('image/jpeg');
    expect(snap.body.equals(jpeg)).toBe(true);
    expect((await get('/api/events/r_99')).status).toBe(404);
    expect((await get('/api/events/r_99/snapshot.jpg')).status).toBe(404);
  });

  it.each([
    '/api/events?limit=0', '/api/events?limit=201', '/api/events?limit=abc', '/api/events?camera=Front%20Door',
    "/api/events?camera=x'%20OR%201=1--", '/api/events?since=yesterday', '/api/events?alerts=maybe', '/api/events?before=-1',
    '/api/events?colour=red', '/api/events/..%2F..%2Fetc%2Fpasswd/snapshot.jpg', '/api/events/R_1',
  ])('answers 400 to %s', async (p) => {
    const r = await get(p);
    expect(r.status).toBe(400);
    expect(json(r.body).error).toBeTruthy();
  });
});

describe('TimelineStore retention', () => {
  it('drops events older than retention_days and trims oldest first to max size', async () => {
    const tmp = await tempDir('timeline');
    const store = new TimelineStore(tmp.dir, { days: 1, maxBytes: 20_000 });
    try {
      const old = new Date(Date.now() - 2 * 86_400_000).toISOString();
      store.add(result(1, { ts: old }), Buffer.alloc(100));
      store.add(result(2, { ts: new Date().toISOString() }), Buffer.alloc(100));
      store.applyRetention();
      expect(store.list({ alertsOnly: false, limit: 50 }).map((e) => e.result.id)).toEqual(['r_2']);
      for (let i = 10; i < 40; i++) store.add(result(i, { ts: new Date().toISOString() }), Buffer.alloc(2_000));
      expect(store.bytes).toBeLessThanOrEqual(20_000);
      const ids = store.list({ alertsOnly: false, limit: 200 }).map((e) => e.result.id);
      expect(ids[0]).toBe('r_39');
      expect(ids).not.toContain('r_10');
      store.add(result(39), Buffer.alloc(1)); // same id: idempotent
      expect(store.list({ alertsOnly: false, limit: 200 }).filter((e) => e.result.id === 'r_39')).toHaveLength(1);
    } finally {
      store.close();
      await tmp.cleanup();
    }
  });
});
