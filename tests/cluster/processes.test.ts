/**
 * Issue 14 item 5: three real `bin/sarai.js run` processes in one cluster group on a real
 * mosquitto (MQTT 5), describing camera snapshots with the tiny ONNX captioner
 * (transformers.js). 600 snapshots over 6 cameras in bursts at QoS 1: the retained result of
 * each camera is the newest snapshot of each burst, no `sarai/alert` event id repeats within a
 * phase, and the scheduler counters scraped from every worker's /metrics add up to what was
 * sent. Then one worker is SIGKILLed mid-burst: the other two serve every snapshot sent after
 * the kill; what the dead worker had acknowledged but not finished is in its input spool, and
 * when it starts again it runs those without publishing an old result over a newer one.
 * Needs dist/ (npm run build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCaptioner } from '../fixtures/onnx/index.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';
import { patternJpeg, readRetained } from '../camera/helpers.js';

const BIN = path.resolve('bin/sarai.js');
const CAMERAS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
const BURSTS = 5;
const PER_BURST = 20; // per camera: 6 x 5 x 20 = 600
const IDS = ['w1', 'w2', 'w3'];
/** Every way a snapshot job ends (scheduler counters); `completed` is a described snapshot. */
const ENDS = ['completed', 'coalesced', 'deduplicated', 'rejected', 'dropped', 'failed'] as const;

interface Worker {
  id: string;
  http: number;
  child: ChildProcess;
  out: () => string;
  /** Its log said `SARAi is running`: every input subscription acknowledged (`online` comes before). */
  running: () => boolean;
  exited: Promise<unknown>;
}

interface Scrape {
  /** Snapshots handed to this worker by the broker (queued, or refused at intake). */
  received: number;
  /** Snapshots that reached an end (ENDS). */
  ended: number;
  refused: number;
  /** Results this worker stamped (its `seq` so far). */
  seq: number;
  depth: number;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'sarai-processes-'));
let broker: Mosquitto | undefined;
let probe: MqttProbe | undefined;
const workers: Worker[] = [];
let captionerDir = '';

function startWorker(id: string, url: string, captioner: string, http: number): Worker {
  // its own folder, as on its own box: the default MQTT client id hashes host and data_dir
  const cwd = path.join(work, id);
  mkdirSync(cwd, { recursive: true });
  const config = path.join(cwd, 'sarai.yaml');
  writeFileSync(
    config,
    [
      `mqtt: { url: "${url}" }`,
      `http: { host: 127.0.0.1, port: ${http} }`,
      'runtime: { allow_downloads: false, threads: 1, onnx_threads: 1 }',
      'wyoming: { enabled: false }',
      'voice: { enabled: false }',
      `cluster: { group: house, worker_id: ${id} }`,
      'camera_defaults: { cooldown_s: 0 }',
      'scheduler: { concurrency: 1 }',
      'models:',
      `  vision: { backend: transformers, model: "${captioner}", image_size: 64, max_tokens: 8 }`,
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd, env: { ...process.env, TMPDIR: cwd }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let running = false;
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
    running ||= out.includes('"msg":"SARAi is running"');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((r) => child.once('exit', r));
  return { id, http, child, out: () => out, running: () => running, exited };
}

/** Sum of a counter over its label sets in Prometheus text. */
function metric(text: string, name: string, label = ''): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (label && !line.includes(label)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function scrape(w: Worker): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${w.http}/metrics`);
  const text = await res.text();
  const c = (name: string) => metric(text, `sarai_scheduler_${name}_total`, 'kind="snapshot"');
  const ended = ENDS.reduce((n, e) => n + c(e), 0);
  // every snapshot is queued (a coalesced one too, before it is replaced) unless refused at
  // intake (rejected, dropped); the test sends only valid images, so those stay 0 (asserted)
  return { received: c('queued') + c('rejected') + c('dropped'), refused: c('rejected') + c('dropped'), ended, seq: metric(text, 'sarai_cluster_results_total'), depth: metric(text, 'sarai_queue_depth') };
}

async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, label: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof label === 'string' ? label : label()}\n${workers.map((w) => `--- ${w.id}\n${w.out().slice(-1500)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const json = (m: Received) => JSON.parse(m.payload.toString()) as Record<string, unknown>;
let tsNext = Date.now();
let seed = 1;
let sent = 0;

/** One burst: `perCamera` snapshots of every camera, cameras interleaved; returns each camera's newest ts. */
async function burst(perCamera: number, cameras = CAMERAS, onStep?: () => Promise<boolean>): Promise<Map<string, number>> {
  const newest = new Map<string, number>();
  for (let i = 0; i < perCamera; i++) {
    // the broker hands snapshots out round robin: 6 cameras in a fixed order on 3 workers would
    // pin each camera to one worker, so each step starts one camera further on
    for (const cam of cameras.map((_, k) => cameras[(k + i) % cameras.length] as string)) {
      const ts = ++tsNext;
      await probe?.client.publishAsync(`sarai/camera/${cam}/snapshot`, await patternJpeg(seed++, 64, 48), { qos: 1, properties: { userProperties: { ts: String(ts) } } });
      sent++;
      newest.set(cam, ts);
    }
    if (onStep && (await onStep())) break;
  }
  return newest;
}

async function retainedTs(cam: string): Promise<string> {
  const r = JSON.parse((await readRetained((broker as Mosquitto).url, `sarai/camera/${cam}/result`, 10_000)).toString()) as Record<string, unknown>;
  return String(r['input_ts']);
}

/** The retained result of `cam` is (or within a few round trips becomes: the repair) its snapshot of `ts`. */
async function expectRetained(cam: string, ts: number, what: string): Promise<void> {
  const want = new Date(ts).toISOString();
  let got = '';
  const deadline = Date.now() + 5_000;
  while ((got = await retainedTs(cam)) !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(got, `camera ${cam}, ${what}: ${trail(cam)}`).toBe(want);
}

const liveResults = (): Record<string, unknown>[] => (probe?.messages ?? []).filter((m) => /^sarai\/camera\/c\d\/result$/.test(m.topic) && !m.retain).map(json);

/**
 * Job ids published twice with different bytes: a second description of one snapshot. The
 * same bytes again are the newest result's owner repairing the retained copy (cluster feature).
 */
function secondDescriptions(): string[] {
  const first = new Map<string, string>();
  const twice: string[] = [];
  for (const m of probe?.messages ?? []) {
    if (!/^sarai\/camera\/c\d\/result$/.test(m.topic) || m.retain) continue;
    const id = String(json(m)['job_id']);
    const text = m.payload.toString();
    if (first.has(id) && first.get(id) !== text) twice.push(id);
    if (!first.has(id)) first.set(id, text);
  }
  return twice;
}

/** The result of each camera's newest snapshot has gone out (publishing follows the counter). */
async function sawNewest(newest: Map<string, number>): Promise<void> {
  for (const [cam, ts] of newest) {
    const iso = new Date(ts).toISOString();
    await until(() => liveResults().some((r) => r['camera'] === cam && r['input_ts'] === iso), 30_000, `the result of ${cam}'s snapshot of ${iso}`);
  }
}

/** The last results of a camera as the probe saw them, for a failure message. */
const trail = (cam: string): string =>
  JSON.stringify(liveResults().filter((r) => r['camera'] === cam).slice(-4).map((r) => [r['input_ts'], r['worker'], r['seq']]));

/** sarai/alert messages seen twice with the same event id and phase. */
function repeatedAlerts(): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const m of probe?.messages ?? []) {
    if (m.topic !== 'sarai/alert') continue;
    const a = json(m);
    const key = `${String(a['event_id'])}/${String(a['phase'])}`;
    if (seen.has(key)) twice.push(key);
    seen.add(key);
  }
  return twice;
}

describe.skipIf(!haveMosquitto())('three sarai processes in one group on mosquitto, tiny captioner', () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#'], 5);
    const cap = await makeTinyCaptioner(path.join(work, 'captioner'));
    captionerDir = cap.dir;
    for (const id of IDS) workers.push(startWorker(id, broker.url, cap.dir, await freePort()));
    for (const w of workers) await probe.waitForTopic(`sarai/worker/${w.id}/status`, 60_000, (m) => m.payload.toString() === 'online');
    // `online` goes out at connect, before the sources subscribe: a snapshot sent before any
    // worker listens on camera/+/snapshot has no subscriber and the broker drops it
    await until(() => workers.every((w) => w.running()), 60_000, 'every worker running');
  }, 90_000);

  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGKILL');
        await w.exited;
      }
    }
    await probe?.close();
    await broker?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('600 snapshots in bursts: the newest of each burst is the retained result, no alert repeats, the counters add up to what was sent', async () => {
    for (let b = 0; b < BURSTS; b++) {
      const newest = await burst(PER_BURST);
      // settled: every snapshot handed out has reached an end on some worker
      let seen: Scrape[] = [];
      await until(async () => {
        seen = await Promise.all(workers.map(scrape));
        return seen.reduce((n, x) => n + x.ended, 0) === sent && seen.every((x) => x.depth === 0);
      }, 60_000, () => `burst ${b} to settle (${sent} sent): ${JSON.stringify(seen)}`);
      await sawNewest(newest);
      for (const cam of CAMERAS) await expectRetained(cam, newest.get(cam) as number, `burst ${b}`);
    }
    expect(sent).toBe(600);
    const s = await Promise.all(workers.map(scrape));
    expect(s.reduce((n, x) => n + x.received, 0)).toBe(sent);
    for (const x of s) expect(x.received).toBeGreaterThan(0); // shared, not all on one
    for (const x of s) expect(x.refused).toBe(0);
    expect(repeatedAlerts()).toEqual([]);
    const results = liveResults();
    expect(secondDescriptions()).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(BURSTS * CAMERAS.length);
    // the real model answered, cameras crossed workers, and the alert check had alerts to check
    for (const r of results) expect(r['summary']).toMatch(/^a (red|green|blue) picture$/);
    expect(CAMERAS.every((c) => new Set(results.filter((r) => r['camera'] === c).map((r) => r['worker'])).size > 1)).toBe(true);
    expect((probe as MqttProbe).messages.filter((m) => m.topic === 'sarai/alert').length).toBeGreaterThanOrEqual(2 * results.length);
  }, 120_000);

  it('a worker SIGKILLed mid-burst: the other two serve every camera after it; what it held unfinished it runs from its spool when it starts again', async () => {
    const victim = workers[2] as Worker;
    const survivors = workers.slice(0, 2);
    const doomed = victim.id;
    // kill right after a scrape that finds it holding work; nothing is published in between
    let last: Scrape | undefined;
    await burst(40, CAMERAS, async () => {
      last = await scrape(victim);
      if (last.received - last.ended === 0) return false;
      victim.child.kill('SIGKILL');
      return true;
    });
    expect(last && last.received > last.ended, 'the victim never held work when scraped').toBe(true);
    await victim.exited;
    expect(victim.child.signalCode).toBe('SIGKILL');
    const atKill = last as Scrape;
    // the broker published its last will: from now on the group has two members
    await (probe as MqttProbe).waitForTopic(`sarai/worker/${doomed}/status`, 30_000, (m) => m.payload.toString() === 'offline');
    const finals = await burst(5);
    await until(async () => {
      const s = await Promise.all(survivors.map(scrape));
      return s.every((x) => x.ended === x.received && x.depth === 0);
    }, 60_000, 'the survivors to settle');
    await sawNewest(finals);
    for (const cam of CAMERAS) await expectRetained(cam, finals.get(cam) as number, 'after the kill');
    const results = liveResults();
    for (const cam of CAMERAS) {
      const final = results.find((r) => r['camera'] === cam && r['input_ts'] === new Date(finals.get(cam) as number).toISOString());
      expect(survivors.map((w) => w.id)).toContain(final?.['worker']);
    }
    expect(repeatedAlerts()).toEqual([]);
    expect(secondDescriptions()).toEqual([]);

    // from the broker's side: what the survivors did not receive went to the victim
    const s = await Promise.all(survivors.map(scrape));
    for (const x of s) expect(x.refused).toBe(0);
    const routedToVictim = sent - s.reduce((n, x) => n + x.received, 0);
    const inflight = atKill.received - atKill.ended;
    const arrivedAfterScrape = routedToVictim - atKill.received;
    expect(arrivedAfterScrape).toBeGreaterThanOrEqual(0);
    // what it still published after the scrape cannot exceed what it held
    const finishedAfterScrape = results.filter((r) => r['worker'] === doomed && Number(r['seq']) > atKill.seq).length;
    expect(finishedAfterScrape).toBeLessThanOrEqual(inflight + arrivedAfterScrape);
    // what it held unfinished at the kill is on its disk (acknowledged inputs are spooled first);
    // one whose result went out just before the kill may be there too (its job had not ended):
    // run again, the ledger finds its job id published and says nothing twice (checked below)
    const spoolDir = path.join(work, doomed, 'data', 'spool');
    const spooled = readdirSync(spoolDir).filter((f) => f.endsWith('.in')).length;
    expect(spooled).toBeLessThanOrEqual(inflight + arrivedAfterScrape);
    console.info(`[sigkill] sent ${sent}; victim ${doomed}: in flight at the last scrape ${inflight}, arrived after it ${arrivedAfterScrape}, published after it ${finishedAfterScrape}; in its spool at the kill ${spooled}`);

    // it starts again: it runs what it spooled, and publishes no old result over a newer one
    const again = startWorker(doomed, (broker as Mosquitto).url, captionerDir, victim.http);
    workers[2] = again;
    await until(async () => {
      const text = await fetch(`http://127.0.0.1:${again.http}/metrics`).then((r) => r.text(), () => ''); // not listening yet
      if (!text) return false;
      const x = await scrape(again);
      return metric(text, 'sarai_spool_replayed_total') === spooled && x.received === spooled && x.ended === spooled && metric(text, 'sarai_spool_inputs') === 0;
    }, 60_000, () => `${doomed} to run its ${spooled} spooled snapshots`);
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.in'))).toEqual([]);
    for (const cam of CAMERAS) await expectRetained(cam, finals.get(cam) as number, 'after the victim ran its spool');
    expect(repeatedAlerts()).toEqual([]);
    expect(secondDescriptions()).toEqual([]);
  }, 120_000);
});
