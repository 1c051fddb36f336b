/**
 * Timeline API latency with 100,000 stored results (target: p95 < 50 ms for a page of 50).
 * Rows go straight into the real TimelineStore (SQLite, better-sqlite3), 10 cameras, ~3% alerts,
 * one result in ten with a snapshot; the real HttpServer + timeline routes answer over loopback
 * HTTP (keep-alive), so a figure includes routing, query validation, SQLite and JSON.
 * Run: npx tsx bench/timeline-api.ts
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { CameraResult, EventType } from '../src/core/results.js';
import { HttpServer } from '../src/http/server.js';
import { createLogger } from '../src/log/logger.js';
import { registerTimelineRoutes, TimelineStore } from '../src/publishers/timeline/index.js';
import { percentile, printTable } from './stats.js';

const ROWS = 100_000;
const CAMERAS = Array.from({ length: 10 }, (_, i) => `camera_${i}`);
const TYPES: EventType[] = ['person', 'vehicle', 'animal', 'package', 'other'];
const REQUESTS = 200;
const TARGET_P95_MS = 50;

const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-timeline-'));
const store = new TimelineStore(dir, { days: 3650, maxBytes: 8 * 1024 * 1_048_576 });
const server = new HttpServer('127.0.0.1', 0, createLogger('silent'));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

try {
  const jpeg = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#4a6fa5' } }).jpeg({ quality: 70 }).toBuffer();
  const start = Date.now() - ROWS * 6_000; // one result every 6 s: ~7 days of history
  const t0 = performance.now();
  for (let i = 0; i < ROWS; i++) {
    const alert = i % 33 === 0;
    const r: CameraResult = {
      id: `r${i.toString(36)}_${(i * 2654435761 >>> 0).toString(16)}`,
      camera: CAMERAS[i % CAMERAS.length] as string,
      summary: `A person walks past the ${i % 2 ? 'gate' : 'door'} carrying a bag (${i}).`,
      description: 'A person in a dark jacket walks from left to right past the front gate, carrying a shopping bag. Nobody else is visible; the gate is closed.',
      objects: ['person', 'bag', 'gate'],
      alert,
      severity: alert ? 'high' : 'none',
      event_type: TYPES[i % TYPES.length] as EventType,
      route: 'omni', route_reason: 'image input -> omni', model: 'Qwen2.5-Omni-7B', latency_ms: 1500 + (i % 700),
      ts: new Date(start + i * 6_000).toISOString(),
      source: 'mqtt',
    };
    store.add(r, i % 10 === 0 ? jpeg : undefined);
  }
  const insertS = (performance.now() - t0) / 1000;

  registerTimelineRoutes(server, () => store);
  await server.start();
  const base = `http://127.0.0.1:${server.port}`;

  const get = (p: string): Promise<{ ms: number; body: string; status: number }> =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      http.get(`${base}${p}`, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ms: performance.now() - t, body: Buffer.concat(chunks).toString(), status: res.statusCode ?? 0 }));
      }).on('error', reject);
    });

  // deep cursor: the page after 1,000 pages of 50... is near the end of the data; use a mid point
  const mid = JSON.parse((await get('/api/events?limit=50')).body) as { next_before: number };
  const midCursor = Math.floor(mid.next_before / 2);
  const day = new Date(start + Math.floor(ROWS / 2) * 6_000);
  const since = new Date(day.getFullYear(), day.getMonth(), day.getDate()).toISOString();
  const until = new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1).toISOString();
  const cases: [string, (i: number) => string][] = [
    ['newest page', () => '/api/events?limit=50'],
    ['one camera', (i) => `/api/events?camera=${CAMERAS[i % CAMERAS.length]}&limit=50`],
    ['alerts only', () => '/api/events?alerts=1&limit=50'],
    ['camera + alerts', (i) => `/api/events?camera=${CAMERAS[i % CAMERAS.length]}&alerts=1&limit=50`],
    ['one day (date filter)', () => `/api/events?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&limit=50`],
    ['deep page (cursor mid-history)', (i) => `/api/events?limit=50&before=${midCursor - i * 50}`],
    ['one event by id', () => `/api/events/r${(ROWS - 7).toString(36)}_${((ROWS - 7) * 2654435761 >>> 0).toString(16)}`],
  ];
  const rows: (string | number)[][] = [];
  let worstP95 = 0;
  for (const [name, path_] of cases) {
    for (let i = 0; i < 10; i++) await get(path_(i)); // warm-up
    const ms: number[] = [];
    let n = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const r = await get(path_(i));
      if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      if (i === 0) n = r.body.startsWith('{"events"') ? (JSON.parse(r.body) as { events: unknown[] }).events.length : 1;
      ms.push(r.ms);
    }
    const p95 = percentile(ms, 95);
    worstP95 = Math.max(worstP95, p95);
    rows.push([name, n, percentile(ms, 50).toFixed(2), p95.toFixed(2), percentile(ms, 99).toFixed(2), p95 < TARGET_P95_MS ? 'ok' : 'OVER']);
  }
  console.log(`timeline store: ${ROWS.toLocaleString()} results (${(store.bytes / 1_048_576).toFixed(0)} MB counted) inserted in ${insertS.toFixed(1)} s (${Math.round(ROWS / insertS).toLocaleString()} rows/s)`);
  printTable(`GET /api/events over loopback HTTP, ${REQUESTS} requests each (ms); baseline: target p95 < ${TARGET_P95_MS} ms`, ['query', 'events', 'p50', 'p95', 'p99', 'target'], rows);
  console.log(`\nworst p95 ${worstP95.toFixed(2)} ms vs target ${TARGET_P95_MS} ms: ${worstP95 < TARGET_P95_MS ? 'PASS' : 'FAIL'}`);
  process.exitCode = worstP95 < TARGET_P95_MS ? 0 : 1;
} finally {
  agent.destroy();
  await server.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
