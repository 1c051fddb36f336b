/**
 * Start-up time to `sarai/status online` and idle RSS, against a real mosquitto, compared in
 * the same run with a bare Node process that connects with mqtt.js and publishes `online`
 * (the floor any Node MQTT bridge pays). Target: under 1 s with no models loaded.
 *   npx tsx bench/startup.ts [runs]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMosquitto } from '../tests/helpers/mosquitto.js';
import { MqttProbe } from '../tests/helpers/mqtt-probe.js';
import { percentile, printTable } from './stats.js';

const runs = Number(process.argv[2] ?? 10);
const broker = await startMosquitto();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-start-'));
const config = path.join(tmp, 'sarai.yaml');
writeFileSync(config, `data_dir: ${tmp}/data\nmqtt:\n  url: ${broker.url}\nhttp:\n  host: 127.0.0.1\n  port: 0\nwyoming:\n  enabled: false\nmodels: {}\nlog:\n  level: warn\n`);
const baselineScript = path.join(tmp, 'baseline.mjs');
writeFileSync(
  baselineScript,
  `import mqtt from ${JSON.stringify(path.resolve('node_modules/mqtt/build/index.js'))};
const c = mqtt.connect(${JSON.stringify(broker.url)}, { will: { topic: 'base/status', payload: 'offline', retain: true, qos: 1 } });
c.on('connect', () => c.publish('base/status', 'online', { retain: true, qos: 1 }));
setInterval(() => {}, 1000);`,
);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function measure(cmd: string[], topic: string): Promise<{ ms: number; rss: number }> {
  const probe = await MqttProbe.connect(broker.url, [topic], 5);
  const t0 = performance.now();
  const child = spawn(process.execPath, cmd, { stdio: 'ignore' });
  await probe.waitFor((m) => m.topic === topic && !m.retain && m.payload.toString() === 'online', 20_000, topic);
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2_000)); // settle, then read idle RSS
  const rss = rssMb(child.pid ?? 0);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  await probe.close();
  return { ms, rss };
}

const sarai: { ms: number; rss: number }[] = [];
const base: { ms: number; rss: number }[] = [];
for (let i = 0; i < runs; i++) {
  base.push(await measure([baselineScript], 'base/status'));
  sarai.push(await measure(['bin/sarai.js', 'run', '--config', config], 'sarai/status'));
}
await broker.stop();

const row = (name: string, xs: { ms: number; rss: number }[]) => [
  name,
  percentile(xs.map((x) => x.ms), 50).toFixed(0),
  percentile(xs.map((x) => x.ms), 95).toFixed(0),
  percentile(xs.map((x) => x.rss), 50).toFixed(1),
];
printTable(`start-up to online, ${runs} runs each (real mosquitto, no models)`, ['process', 'p50 ms', 'p95 ms', 'idle RSS MB'], [
  row('bare mqtt.js client (baseline)', base),
  row('sarai run', sarai),
]);
