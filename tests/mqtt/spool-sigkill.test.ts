/**
 * Nothing accepted is lost when SARAi is SIGKILLed: a real `bin/sarai.js run` process on a real
 * mosquitto takes 8 camera snapshots at QoS 1 (mqtt.js acknowledges each one when its handler
 * returns), its model (an OpenAI-compatible server: a 7B model cannot run here) never answers,
 * and it is killed holding all 8: one running, seven waiting. The next start runs the 8 from
 * its input spool and every camera gets its description. With the spool off, the same kill
 * loses them: the control that shows the test can fail. Needs dist/ (npm run build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT, OpenAIServer } from '../fixtures/openai-server.js';
import { patternJpeg } from '../camera/helpers.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';

const BIN = path.resolve('bin/sarai.js');
const CAMERAS = Array.from({ length: 8 }, (_, i) => `k${i}`);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-spool-kill-'));
const ANSWER = JSON.stringify({ summary: 'a parcel on the step', description: 'A parcel lies on the step.', objects: ['parcel'], alert: false, severity: 'low' });

let broker: Mosquitto;
let model: OpenAIServer;
let probe: MqttProbe;
const children: ChildProcess[] = [];

function config(name: string, spoolMaxAgeS: number, httpPort: number, cluster: boolean): string {
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(file, [
    `data_dir: ${path.join(tmp, name)}`,
    `models_dir: ${path.join(tmp, 'models')}`,
    `mqtt: { url: "${broker.url}", base_topic: ${name}, discovery: false, spool_max_age_s: ${spoolMaxAgeS} }`,
    `http: { host: 127.0.0.1, port: ${httpPort} }`,
    'wyoming: { enabled: false }',
    'voice: { enabled: false }',
    'camera_defaults: { cooldown_s: 0 }',
    'scheduler: { concurrency: 1 }',
    `models: { vision: { backend: openai, url: "${model.url}", model: fixed, timeout_s: 120 } }`,
    ...(cluster ? ['cluster: { group: one, worker_id: w1 }'] : []),
    '',
  ].join('\n'));
  return file;
}

function run(configFile: string): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [BIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, out: () => out };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

async function until(check: () => Promise<boolean>, ms: number, what: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${await what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const resultsOf = (base: string, cam: string) => probe.messages.filter((m) => m.topic === `${base}/camera/${cam}/result` && !m.retain);

/** Starts a bridge, has it accept one snapshot per camera while its model hangs, then SIGKILLs it. */
async function killHoldingEight(base: string, spoolMaxAgeS: number, cluster = false): Promise<{ configFile: string; port: number; spooledAtKill: number }> {
  const port = await freePort();
  const configFile = config(base, spoolMaxAgeS, port, cluster);
  model.peer.always(CHAT, { kind: 'hang' });
  const first = run(configFile);
  // `online` goes out on connect, before the features subscribe: wait for the whole start
  await until(async () => first.out().includes('SARAi is running'), 60_000, () => `the bridge to start\n${first.out()}`);
  for (const [i, cam] of CAMERAS.entries()) {
    await probe.client.publishAsync(`${base}/camera/${cam}/snapshot`, await patternJpeg(300 + i, 64, 48), { qos: 1 });
  }
  // all 8 taken (acknowledged to the broker): one at the model, seven waiting
  await until(async () => (await metric(port, 'sarai_scheduler_queued_total')) === CAMERAS.length && model.peer.to(CHAT).length > 0, 30_000, async () => `8 snapshots queued (chat requests ${model.peer.to(CHAT).length}; queued ${await metric(port, 'sarai_scheduler_queued_total')}; in ${await metric(port, 'sarai_messages_in_total')})\n${first.out()}`);
  const spooledAtKill = await metric(port, 'sarai_spool_inputs');
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  return { configFile, port, spooledAtKill };
}

describe.skipIf(!haveMosquitto())('a SIGKILLed bridge loses nothing it accepted (input spool)', () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    model = await OpenAIServer.start({ reply: ANSWER });
    probe = await MqttProbe.connect(broker.url, ['#'], 5);
  }, 30_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await probe?.close();
    await model?.close();
    await broker?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('killed holding 8 accepted snapshots: the next start describes all 8 as of when they arrived, and the spool is empty after', async () => {
    // a cluster worker (a group of one): its results say which input time they describe
    const { configFile, port, spooledAtKill } = await killHoldingEight('spooled', 3600, true);
    const killedAt = Date.now();
    expect(spooledAtKill).toBe(CAMERAS.length);
    const spoolDir = path.join(tmp, 'spooled', 'spool');
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.in'))).toHaveLength(CAMERAS.length);
    for (const cam of CAMERAS) expect(resultsOf('spooled', cam)).toHaveLength(0);

    model.peer.always(CHAT, undefined); // the model answers now
    const second = run(configFile);
    await until(async () => CAMERAS.every((c) => resultsOf('spooled', c).length > 0), 60_000, () => `a result for every camera\n${second.out()}`);
    for (const cam of CAMERAS) {
      expect(resultsOf('spooled', cam)).toHaveLength(1);
      const r = JSON.parse(resultsOf('spooled', cam)[0]?.payload.toString() ?? '{}') as Record<string, unknown>;
      expect(r).toMatchObject({ camera: cam, summary: 'a parcel on the step', worker: 'w1' });
      // no producer `ts`: the input time is when the killed run accepted it, not the replay
      expect(Date.parse(String(r['input_ts']))).toBeLessThan(killedAt);
    }
    expect(await metric(port, 'sarai_spool_replayed_total')).toBe(CAMERAS.length);
    await until(async () => (await metric(port, 'sarai_spool_inputs')) === 0, 10_000, () => 'the spool to drain');
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.in'))).toEqual([]);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }, 120_000);

  it('control: with the spool off (spool_max_age_s 0), the same kill loses what was acknowledged', async () => {
    const { configFile } = await killHoldingEight('unspooled', 0);
    expect(existsSync(path.join(tmp, 'unspooled', 'spool'))).toBe(false);
    model.peer.always(CHAT, undefined);
    const second = run(configFile);
    await until(async () => second.out().includes('SARAi is running'), 60_000, () => `the bridge to start\n${second.out()}`);
    // a persistent session redelivers only what was never acknowledged: nothing here
    await new Promise((r) => setTimeout(r, 3000));
    const described = CAMERAS.filter((c) => resultsOf('unspooled', c).length > 0);
    expect(described).toEqual([]);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }, 120_000);
});
