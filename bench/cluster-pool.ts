/**
 * Cluster mode against a MODEL POOL, on one machine (mosquitto 2, MQTT 5):
 * 1. N SARAi workers (in this process, cluster.group `pool`, $share subscriptions) whose vision
 *    role is `backend: openai` with `urls:` listing POOL loopback HTTP model servers. Each server
 *    has ONE slot and a FIXED service time of SERVICE_MS per request (a timer, not CPU: it
 *    stands for a GPU box running llama-server; this 2-core machine cannot run real ones that
 *    fast). Requests go through the real router, registry and BackendPool over HTTP.
 *    Throughput for N = 1..POOL workers and the scaling efficiency T(n) / (n * T(1)); goal
 *    >= 0.9 up to the pool size. Also how the calls spread over the servers, and how the
 *    broker's shared subscription spread the snapshots over the workers (mosquitto: round robin
 *    per filter, which is even only if nothing but inputs matches the filter; see cameraFilters
 *    in src/mqtt/input-topics.ts).
 * 2. In the same run, the broker's per-message cost of a shared subscription against a plain
 *    one (bench/mqtt-share-cost.ts).
 * Every wait is bounded (a round ROUND_DEADLINE_MS, the subscription part 30 s per filter run).
 * Run: npx tsx bench/cluster-pool.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { createApp, type App } from '../src/app.js';
import { configFromObject } from '../src/config/load.js';
import { createLogger } from '../src/log/logger.js';
import { patternJpeg } from '../tests/camera/helpers.js';
import { startMosquitto } from '../tests/helpers/mosquitto.js';
import { shareOverheadLine } from './mqtt-share-cost.js';

const SERVICE_MS = 200;
const POOL = 4;
const SNAPSHOTS = 120;
const ROUND_DEADLINE_MS = 60_000;

const ANSWER = JSON.stringify({ summary: 'a person at the door', description: 'd', objects: ['person'], alert: false, severity: 'none' });

/** An OpenAI-compatible server with one slot: requests wait their turn, each takes SERVICE_MS. */
async function fixedServer(): Promise<{ url: string; served: () => number; close: () => Promise<void> }> {
  let busyUntil = 0;
  let served = 0;
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET') return reply({ object: 'list', data: [{ id: 'fixed', object: 'model' }] });
      const start = Math.max(Date.now(), busyUntil);
      busyUntil = start + SERVICE_MS;
      setTimeout(() => {
        served++;
        reply({ object: 'chat.completion', model: 'fixed', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: ANSWER } }], usage: { completion_tokens: 8 } });
      }, busyUntil - Date.now());
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/v1`, served: () => served, close: () => new Promise((r) => srv.close(() => r())) };
}

const broker = await startMosquitto();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-pool-'));
const log = createLogger('error');
const servers = await Promise.all(Array.from({ length: POOL }, () => fixedServer()));
const images = await Promise.all(Array.from({ length: SNAPSHOTS }, (_, i) => patternJpeg(9000 + i, 64, 48)));

async function startWorkers(n: number, round: number): Promise<App[]> {
  const apps: App[] = [];
  for (let i = 0; i < n; i++) {
    const dir = path.join(tmp, `r${round}w${i}`);
    const config = configFromObject(
      {
        data_dir: dir,
        models_dir: dir,
        http: { host: '127.0.0.1', port: 0 },
        wyoming: { enabled: false },
        models: { vision: { backend: 'openai', urls: servers.map((s) => s.url), model: 'fixed', concurrency: 1, timeout_s: 60 } },
        mqtt: { url: broker.url, base_topic: `p${round}`, discovery: false },
        cluster: { group: 'pool', worker_id: `w${i}` },
        camera_defaults: { cooldown_s: 0 },
        scheduler: { concurrency: 1 },
      },
      'bench',
    );
    const app = createApp({ config, source: 'bench', baseDir: dir }, { log });
    await app.start();
    apps.push(app);
  }
  return apps;
}

/** Snapshots per second, first publish to last result: one camera per snapshot (no coalescing). */
async function throughput(n: number, round: number): Promise<{ rate: number; spread: number[]; byWorker: number[] }> {
  const apps = await startWorkers(n, round);
  const before = servers.map((s) => s.served());
  const probe = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  await probe.subscribeAsync(`p${round}/camera/+/result`, { qos: 1 });
  let got = 0;
  const byWorker = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${n} workers: ${got} of ${SNAPSHOTS} results within ${ROUND_DEADLINE_MS} ms`)), ROUND_DEADLINE_MS);
    probe.on('message', (_t, payload, pkt) => {
      if (pkt.retain) return;
      const w = String((JSON.parse(payload.toString()) as { worker?: string }).worker);
      byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
      if (++got === SNAPSHOTS) resolve();
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < SNAPSHOTS; i++) await probe.publishAsync(`p${round}/camera/c${i}/snapshot`, images[i] as Buffer, { qos: 1 });
  await done.finally(() => clearTimeout(timer));
  const rate = SNAPSHOTS / ((performance.now() - t0) / 1000);
  await probe.endAsync();
  for (const a of apps) await a.stop();
  return { rate, spread: servers.map((s, i) => s.served() - (before[i] ?? 0)), byWorker: Array.from({ length: n }, (_, i) => byWorker.get(`w${i}`) ?? 0) };
}

try {
  console.log(
    `Machine: ${os.cpus().length} cores, 1-min load average ${os.loadavg()[0]?.toFixed(1)}. Model pool: ${POOL} HTTP servers, one slot each, FIXED service time ${SERVICE_MS} ms (a timer); each worker one call at a time; ${SNAPSHOTS} snapshots, one camera each.`,
  );
  const rows: { n: number; rate: number; spread: number[]; byWorker: number[] }[] = [];
  for (let n = 1; n <= POOL; n++) rows.push({ n, ...(await throughput(n, n)) });
  const base = rows[0]?.rate ?? 0;
  // snapshots per worker: how the broker's shared subscription spread them (a skew there
  // bounds the rate whatever the pool does)
  console.log('| workers | snapshots/s | ideal (n x 1 worker) | efficiency | calls per server | snapshots per worker |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.n} | ${r.rate.toFixed(2)} | ${(base * r.n).toFixed(2)} | ${(r.rate / (base * r.n)).toFixed(2)} | ${r.spread.join(' / ')} | ${r.byWorker.join(' / ')} |`);
  console.log(`(the pool bound is ${((1000 / SERVICE_MS) * POOL).toFixed(0)}/s; one worker is bound at ${(1000 / SERVICE_MS).toFixed(0)}/s)`);
  console.log(`\n${await shareOverheadLine(broker.url)}`);
  console.log(`1-min load average at the end ${os.loadavg()[0]?.toFixed(1)}`);
} finally {
  await broker.stop();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
}
