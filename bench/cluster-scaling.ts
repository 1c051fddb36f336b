/**
 * Cluster mode on one machine (mosquitto 2, MQTT 5):
 * 1. throughput of 1, 2 and 3 SARAi workers (in this process, cluster.group `bench`) sharing
 *    snapshots through `$share/bench/...`, against a model with a FIXED service time of
 *    SERVICE_MS (a timer, not CPU: it stands for a model server or a pool of them, one model slot
 *    per worker), and the scaling efficiency T(n) / (n * T(1)); goal >= 0.9.
 * 2. the broker's per-message cost of a shared subscription against a plain one, in the same run
 *    (bench/mqtt-share-cost.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { createApp, type App } from '../src/app.js';
import type { GenerateResult } from '../src/backends/types.js';
import { configFromObject } from '../src/config/load.js';
import { createLogger } from '../src/log/logger.js';
import type { ModelRouter, Routed } from '../src/router/types.js';
import { patternJpeg } from '../tests/camera/helpers.js';
import { startMosquitto } from '../tests/helpers/mosquitto.js';
import { shareOverheadLine } from './mqtt-share-cost.js';

const SERVICE_MS = 100;
const SNAPSHOTS = 90;

function fixedRouter(): ModelRouter {
  const no = () => Promise.reject(new Error('unused'));
  return {
    async describe(): Promise<Routed<GenerateResult>> {
      await new Promise((r) => setTimeout(r, SERVICE_MS));
      const json = { summary: 'a person', description: 'd', objects: ['person'], alert: false, severity: 'none' };
      return { value: { text: JSON.stringify(json), json, model: 'fixed', tokens: 1, latencyMs: SERVICE_MS }, route: 'vision', reason: 'bench', model: 'fixed', latencyMs: SERVICE_MS };
    },
    answer: no, transcribe: no, synthesize: no, embed: no,
  };
}

const broker = await startMosquitto();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-cluster-'));
const log = createLogger('error');
const images = await Promise.all(Array.from({ length: SNAPSHOTS }, (_, i) => patternJpeg(7000 + i, 64, 48)));

async function startWorkers(n: number, round: number): Promise<App[]> {
  const apps: App[] = [];
  for (let i = 0; i < n; i++) {
    const dir = path.join(tmp, `r${round}w${i}`);
    const config = configFromObject({
      data_dir: dir, models_dir: dir, http: { host: '127.0.0.1', port: 0 }, wyoming: { enabled: false }, models: {},
      mqtt: { url: broker.url, base_topic: `b${round}`, discovery: false },
      cluster: { group: 'bench', worker_id: `w${i}` },
      camera_defaults: { cooldown_s: 0 },
      scheduler: { concurrency: 1 },
    }, 'bench');
    const app = createApp({ config, source: 'bench', baseDir: dir }, { log });
    await app.start();
    (app.ctx as { router: ModelRouter }).router = fixedRouter();
    apps.push(app);
  }
  return apps;
}

/** Snapshots per second, first publish to last result: one camera per snapshot (no coalescing). */
async function throughput(n: number, round: number): Promise<number> {
  const apps = await startWorkers(n, round);
  const probe = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  await probe.subscribeAsync(`b${round}/camera/+/result`, { qos: 1 });
  let got = 0;
  const done = new Promise<void>((resolve) => probe.on('message', (_t, _p, pkt) => {
    if (!pkt.retain && ++got === SNAPSHOTS) resolve();
  }));
  const t0 = performance.now();
  for (let i = 0; i < SNAPSHOTS; i++) await probe.publishAsync(`b${round}/camera/c${i}/snapshot`, images[i] as Buffer, { qos: 1 });
  await done;
  const rate = SNAPSHOTS / ((performance.now() - t0) / 1000);
  await probe.endAsync();
  for (const a of apps) await a.stop();
  return rate;
}

try {
  console.log(`Machine: ${os.cpus().length} cores, 1-min load average ${os.loadavg()[0]?.toFixed(1)}. Model: fixed service time ${SERVICE_MS} ms (a timer), one slot per worker; ${SNAPSHOTS} snapshots, one camera each.`);
  const rates: number[] = [];
  for (const n of [1, 2, 3]) rates.push(await throughput(n, n));
  const base = rates[0] as number;
  console.log('| workers | snapshots/s | ideal (n x 1 worker) | efficiency |\n|---|---|---|---|');
  rates.forEach((r, i) => console.log(`| ${i + 1} | ${r.toFixed(1)} | ${(base * (i + 1)).toFixed(1)} | ${(r / (base * (i + 1))).toFixed(2)} |`));
  console.log(`(the model bound is ${(1000 / SERVICE_MS).toFixed(0)}/s per worker)`);
  console.log(`\n${await shareOverheadLine(broker.url)}`);
} finally {
  await broker.stop();
  rmSync(tmp, { recursive: true, force: true });
}
