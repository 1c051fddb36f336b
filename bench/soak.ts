/**
 * Soak: the whole bridge (real mosquitto, real router) on the tiny real models (ONNX captioner,
 * wav2vec2 ASR and VITS TTS on transformers.js; a tiny GGUF on node-llama-cpp) under a steady
 * mixed load for a set time: 2 snapshots/s over 4 cameras (a pool of 12 scenes, so some
 * repeat and are deduplicated), 1 question every 2 s, 1 voice WAV every 4 s and 1 clip every
 * 10 s (a 2 s MKV made by ffmpeg; where ffmpeg is missing, hand-made MKV bytes that end in a
 * clean sarai/error). sarai/error messages are tallied by source and cause.
 * Reports RSS, V8 heap, open file descriptors, SQLite size and p99 latency per input in the
 * first window after a warm-up (models load in it) and the last window, and the change. The load generator runs in the same process (its
 * share of RSS/heap is small and constant).
 *
 *   npx tsx bench/soak.ts                # 10 minutes
 *   npx tsx bench/soak.ts --minutes 60   # the 1 h run
 *   npx tsx bench/soak.ts --only voice    # one input kind (snapshot, ask, voice, clip)
 *   npx tsx bench/soak.ts --minutes 80 --warmup 20   # the hour after caches and arenas filled
 *   node --expose-gc --import tsx bench/soak.ts --only ask   # heap read after a full GC
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PipelineHost } from '../src/backends/transformers/pipeline-client.js';
import { wavFromPcm16 } from '../src/media/audio/index.js';
import { schedulerFor } from '../src/scheduler/index.js';
import { patternJpeg } from '../tests/camera/helpers.js';
import { tinyMkv } from '../tests/fuzz/mkv.js';
import { tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';
import { makeTinyAsr, makeTinyCaptioner, makeTinyTts } from '../tests/fixtures/onnx/index.js';
import { startTestApp } from '../tests/helpers/app.js';
import { startMosquitto } from '../tests/helpers/mosquitto.js';
import { MqttProbe } from '../tests/helpers/mqtt-probe.js';
import { argValue as arg, percentile, printTable, procStatusMb } from './stats.js';

const minutes = Number(arg('minutes') ?? 10);
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, not ${arg('minutes') ?? ''}`);
const loadAtStart = os.loadavg()[0] ?? 0;
const durationMs = minutes * 60_000;
const windowMs = Math.min(60_000, durationMs / 4); // first and last window compared
// the first window starts after a warm-up as long: model loads and first-call JIT are not drift
// --warmup <minutes>: a longer warm-up, for the allocator's arenas, ONNX Runtime's and SQLite's
// caches to fill (bench/memory-parts.ts: each levels off after some thousand calls); the
// course below still starts at 0, so nothing before it is hidden
const warmupArg = arg('warmup');
const warmupMs = warmupArg === undefined ? windowMs : Number(warmupArg) * 60_000;
if (!(warmupMs >= 0 && warmupMs + 2 * windowMs <= durationMs)) throw new Error(`--warmup must leave at least two windows of the ${minutes} min run, not ${warmupArg ?? ''}`);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-soak-'));
tinyLlamaFile(path.join(tmp, 'tiny.gguf'));
const [captioner] = await Promise.all([makeTinyCaptioner(path.join(tmp, 'captioner')), makeTinyAsr(path.join(tmp, 'asr')), makeTinyTts(path.join(tmp, 'tts'))]);
const scenes = await Promise.all(Array.from({ length: 12 }, (_, i) => patternJpeg(7000 + i, 320, 240)));
const pcm = Buffer.alloc(16_000 * 2);
for (let i = 0; i < 16_000; i++) pcm.writeInt16LE(Math.round(5000 * Math.sin(i / 6) * Math.sin(i / 900)), i * 2);
const wav = wavFromPcm16(pcm, 16_000, 1);
// a real 2 s clip (video + sound) when ffmpeg is here; else hand-made MKV bytes, which the bridge refuses cleanly
const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=5', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000', '-t', '2', '-c:v', 'mjpeg', '-c:a', 'pcm_s16le', '-f', 'matroska', 'pipe:1'], { maxBuffer: 64 * 1_048_576 });
const mkv = made.status === 0 && made.stdout.length > 0 ? made.stdout : tinyMkv();
console.log(made.status === 0 ? `clip: ffmpeg-made MKV, ${mkv.length} bytes` : 'clip: ffmpeg missing, hand-made MKV bytes (each ends in a sarai/error)');

const mosq = await startMosquitto();
const app = await startTestApp({
  mqtt: { url: mosq.url },
  log: { level: 'warn' },
  models_dir: tmp,
  camera_defaults: { cooldown_s: 0 },
  models: {
    vision: { backend: 'transformers', model: captioner.dir, image_size: 64, max_tokens: 8 },
    stt: { backend: 'transformers', model: path.join(tmp, 'asr') },
    tiny: { backend: 'llama', gguf_file: 'tiny.gguf', max_tokens: 4, context_length: 1024 },
    tts: { backend: 'transformers', model: path.join(tmp, 'tts') },
  },
  runtime: { threads: 1, onnx_threads: 1 },
}, { logLevel: 'warn', keepLogLines: 1000 }); // as a user runs it (log.level warn), and the harness keeps no history
const probe = await MqttProbe.connect(mosq.url, ['sarai/camera/+/result', 'sarai/answer', 'sarai/voice/+/response', 'sarai/error']);
probe.keep = 100; // the load generator shares this process: what it keeps would count as the bridge's growth

type Kind = 'snapshot' | 'ask' | 'voice' | 'clip';
const sent = new Map<string, { kind: Kind; at: number }>(); // key -> pending request
const done: { kind: Kind; at: number; ms: number }[] = [];
const errorsBy = new Map<string, number>(); // source: first words of the error -> count
probe.client.on('message', (topic, payload) => {
  const now = performance.now();
  let key: string | undefined;
  if (topic === 'sarai/camera/clipcam/result') key = 'sarai/camera/clipcam/clip';
  else if (topic.endsWith('/result')) key = topic.replace('/result', '/snapshot');
  else if (topic === 'sarai/answer') key = `ask:${(JSON.parse(payload.toString()) as { id: string }).id}`;
  else if (topic.endsWith('/response')) key = topic.replace('/response', '/audio');
  else if (topic === 'sarai/error') {
    const e = JSON.parse(payload.toString()) as { topic: string; source: string; error: string };
    const what = `${e.source}: ${e.error.slice(0, 60)}`;
    errorsBy.set(what, (errorsBy.get(what) ?? 0) + 1);
    key = e.topic; // a clip refused where ffmpeg is missing
  }
  const s = key ? sent.get(key) : undefined;
  if (!key || !s) return;
  sent.delete(key);
  done.push({ kind: s.kind, at: now, ms: now - s.at });
});

interface Sample {
  at: number;
  rssMb: number;
  heapMb: number;
  fds: number;
  sqliteMb: number;
  /** RSS split (/proc/self/status): anonymous (malloc, V8) and file-backed pages; Node's external (Buffers) memory. */
  anonMb: number;
  fileMb: number;
  externalMb: number;
  /** The transformers.js worker thread's own heap (the main thread's heapUsed does not see it); last answer. */
  workerHeapMb: number;
}
let workerHeapMb = NaN;
const pollWorker = (): void => void PipelineHost.peek()?.memory().then((m) => m && (workerHeapMb = m.heapUsed / 1_048_576));
const dirBytes = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? dirBytes(path.join(dir, e.name)) : /\.(db|sqlite)(-wal|-shm)?$/.test(e.name) ? statSync(path.join(dir, e.name)).size : 0), 0);
// run under `node --expose-gc --import tsx` and each sample follows a full GC: the heap figure is
// then what is live, not the sawtooth (costs a pause of some ms every 5 s)
const gc = (globalThis as { gc?: () => void }).gc;
const sample = (): Sample => {
  gc?.();
  const m = process.memoryUsage();
  return {
    at: performance.now(),
    rssMb: m.rss / 1_048_576,
    heapMb: m.heapUsed / 1_048_576,
    fds: readdirSync('/proc/self/fd').length,
    sqliteMb: dirBytes(app.dataDir) / 1_048_576,
    anonMb: procStatusMb('RssAnon'),
    fileMb: procStatusMb('RssFile'),
    externalMb: m.external / 1_048_576,
    workerHeapMb,
  };
};

const t0 = performance.now();
const samples: Sample[] = [];
let n = 0;
// --only <kind>: one input kind at its usual rate, to find which one a memory growth follows
const only = arg('only');
if (only !== undefined && !['snapshot', 'ask', 'voice', 'clip'].includes(only)) throw new Error(`--only takes snapshot, ask, voice or clip, not ${only}`);
const sends = (k: Kind) => only === undefined || only === k;
const tick = setInterval(() => {
  const now = performance.now();
  n++;
  const cam = `cam${n % 4}`;
  const topic = `sarai/camera/${cam}/snapshot`;
  if (sends('snapshot')) {
    sent.set(topic, { kind: 'snapshot', at: now });
    void probe.publish(topic, scenes[n % scenes.length] as Buffer);
  }
  if (n % 4 === 0 && sends('ask')) {
    const id = `q${n}`;
    sent.set(`ask:${id}`, { kind: 'ask', at: now });
    void probe.publish('sarai/ask', JSON.stringify({ text: 'turn on the kitchen light', id }));
  }
  if (n % 8 === 0 && sends('voice')) {
    const t = `sarai/voice/sat${n % 3}/audio`;
    sent.set(t, { kind: 'voice', at: now });
    void probe.publish(t, wav);
  }
  if (n % 20 === 0 && sends('clip')) {
    const t = 'sarai/camera/clipcam/clip'; // its own camera, so its result is told from snapshots'
    sent.set(t, { kind: 'clip', at: now });
    void probe.publish(t, mkv);
  }
}, 500);
const sampler = setInterval(() => {
  samples.push(sample());
  pollWorker();
}, 5_000);
pollWorker();
samples.push(sample());
await new Promise((r) => setTimeout(r, durationMs));
clearInterval(tick);
clearInterval(sampler);
await schedulerFor(app.app.ctx).scheduler.idle();
samples.push(sample());

const inWindow = (from: number, to: number) => done.filter((d) => d.at - t0 >= from && d.at - t0 < to);
const p99ms = (list: typeof done, kind: Kind): { ms: number; n: number } | undefined => {
  const ms = list.filter((d) => d.kind === kind).map((d) => d.ms);
  return ms.length ? { ms: percentile(ms, 99), n: ms.length } : undefined;
};
const first = inWindow(warmupMs, warmupMs + windowMs);
const last = inWindow(durationMs - windowMs, durationMs + 1);
// start and end gauges: the mean over the same windows as the p99s (one sample could be a dip:
// an 80 min run's first sample after its warm-up read 251 MB in a slice that ended at 272)
const meanOf = (from: number, to: number): Sample | undefined => {
  const xs = samples.filter((s) => s.at - t0 >= from && s.at - t0 < to);
  if (xs.length === 0) return undefined;
  const mean = {} as Sample;
  for (const k of Object.keys(xs[0] as Sample) as (keyof Sample)[]) {
    const known = xs.map((s) => s[k]).filter(Number.isFinite); // the worker's heap is NaN until it answers
    mean[k] = known.length ? known.reduce((a, b) => a + b, 0) / known.length : NaN;
  }
  return mean;
};
const s0 = meanOf(warmupMs, warmupMs + windowMs) ?? samples[0];
const s1 = meanOf(durationMs - windowMs, durationMs + 1) ?? samples.at(-1);
if (!s0 || !s1) throw new Error('no samples');
const change = (a: number, b: number) => (a === 0 ? (b === 0 ? 0 : Infinity) : ((b - a) / a) * 100);
const pct = (c: number) => (Number.isFinite(c) ? `${c >= 0 ? '+' : ''}${c.toFixed(1)} %` : 'n/a');
/** The issue's bar: flat within 5 % from start to end. */
const flat = (c: number) => (Math.abs(c) <= 5 ? 'yes' : c > 0 ? 'no: grows' : 'no: falls');
const rows: string[][] = [];
const gauge = (name: string, a: number, b: number, digits: number) => {
  const c = change(a, b);
  rows.push([name, a.toFixed(digits), b.toFixed(digits), pct(c), flat(c)]);
};
gauge('RSS (MB)', s0.rssMb, s1.rssMb, 1);
gauge('V8 heap used (MB)', s0.heapMb, s1.heapMb, 1);
gauge('transformers worker heap used (MB)', s0.workerHeapMb, s1.workerHeapMb, 1);
gauge('open fds', s0.fds, s1.fds, 0);
gauge('SQLite (MB; the timeline grows to timeline.max_mb)', s0.sqliteMb, s1.sqliteMb, 2);
for (const [kind, label] of [['snapshot', 'p99 snapshot -> result (ms)'], ['ask', 'p99 ask -> answer (ms)'], ['voice', 'p99 voice WAV -> response (ms)'], ['clip', 'p99 clip -> result or error (ms)']] as const) {
  const a = p99ms(first, kind);
  const b = p99ms(last, kind);
  const c = a && b ? change(a.ms, b.ms) : NaN;
  rows.push([label, a ? `${a.ms.toFixed(0)} (n=${a.n})` : 'n/a', b ? `${b.ms.toFixed(0)} (n=${b.n})` : 'n/a', pct(c), Number.isFinite(c) ? flat(c) : 'n/a']);
}
const t = schedulerFor(app.app.ctx).scheduler.counters.totals;
const allocator = process.env['LD_PRELOAD']?.includes('jemalloc') ? 'jemalloc' : process.env['MALLOC_ARENA_MAX'] ? `glibc, MALLOC_ARENA_MAX=${process.env['MALLOC_ARENA_MAX']}` : 'glibc';
const title = `Soak: ${minutes} min${only ? `, ${only} only` : ''}${gc ? ', heap after a forced GC' : ''}${warmupArg !== undefined ? `, measured after a ${warmupArg} min warm-up` : ''} (allocator: ${allocator}), 2 snapshots/s + 0.5 asks/s + 0.25 voice/s + 0.1 clips/s, tiny real models; ${os.cpus().length} cores, load average ${loadAtStart.toFixed(1)} at start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at end`;
const header = ['measure (gauges: mean over the window)', `start (${(warmupMs / 1000).toFixed(0)}-${((warmupMs + windowMs) / 1000).toFixed(0)} s)`, `end (last ${(windowMs / 1000).toFixed(0)} s)`, 'change', 'flat (<= 5 %)'];
printTable(title, header, rows);
// the same table in Markdown, for the README
console.log(`\n${title}\n\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
// The course of the run in ten slices: a leak shows as a climb across them, while a start-to-end
// pair can hide it behind warm-up garbage collected later.
const slices = 10;
const courseRows: string[][] = [];
const clock = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;
for (let i = 0; i < slices; i++) {
  const from = (durationMs * i) / slices;
  const to = (durationMs * (i + 1)) / slices;
  const inSlice = samples.filter((s) => s.at - t0 >= from && s.at - t0 < to);
  const end = inSlice.at(-1);
  if (!end) continue;
  const jobs = inWindow(from, to);
  const p99 = (kind: Kind) => p99ms(jobs, kind)?.ms.toFixed(0) ?? 'n/a';
  courseRows.push([`${clock(from)}-${clock(to)}`, end.rssMb.toFixed(1), end.anonMb.toFixed(1), end.fileMb.toFixed(1), end.heapMb.toFixed(1), end.workerHeapMb.toFixed(1), end.externalMb.toFixed(1), String(end.fds), end.sqliteMb.toFixed(2), p99('snapshot'), p99('ask'), p99('voice'), p99('clip')]);
}
printTable('Course of the run (minutes:seconds; gauges at the end of each slice, p99 of the jobs sent in it, ms)', ['slice', 'RSS MB', 'anon MB', 'file MB', 'heap MB', 'worker heap MB', 'external MB', 'fds', 'SQLite MB', 'snapshot', 'ask', 'voice', 'clip'], courseRows);
// least-squares slope after the warm-up, per hour: what a leak would add in a day is 24x this
const slope = (pick: (s: Sample) => number): number => {
  const xs = samples.filter((s) => s.at - t0 >= warmupMs && Number.isFinite(pick(s)));
  if (xs.length < 3) return NaN;
  const mx = xs.reduce((a, s) => a + s.at, 0) / xs.length;
  const my = xs.reduce((a, s) => a + pick(s), 0) / xs.length;
  const num = xs.reduce((a, s) => a + (s.at - mx) * (pick(s) - my), 0);
  const den = xs.reduce((a, s) => a + (s.at - mx) ** 2, 0);
  return den ? (num / den) * 3_600_000 : NaN;
};
console.log(`\ntrend after the warm-up (least squares over ${samples.filter((s) => s.at - t0 >= warmupMs).length} samples, 5 s apart): RSS ${slope((s) => s.rssMb).toFixed(1)} MB/h (anonymous ${slope((s) => s.anonMb).toFixed(1)}, file-backed ${slope((s) => s.fileMb).toFixed(1)}), heap ${slope((s) => s.heapMb).toFixed(1)} MB/h (transformers worker ${slope((s) => s.workerHeapMb).toFixed(1)}), fds ${slope((s) => s.fds).toFixed(2)}/h`);
console.log('');
console.log(`jobs: queued ${t.queued}, completed ${t.completed}, coalesced ${t.coalesced}, deduplicated ${t.deduplicated}, failed ${t.failed}, dropped ${t.dropped}, rejected ${t.rejected}; requests still unanswered ${sent.size}`);
console.log('sarai/error messages by source and cause:');
for (const [what, count] of errorsBy) console.log(`  ${count} x ${what}`);
await probe.close();
await app.stop();
await mosq.stop();
rmSync(tmp, { recursive: true, force: true });
