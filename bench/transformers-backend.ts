/**
 * transformers backend on the tiny ONNX fixtures: cold start (folder check + worker + pipeline load)
 * and warm per-call latency through TransformersBackend, against the same call made straight
 * on an in-process transformers.js pipeline (the baseline: the library without our worker
 * thread hop, limiter, deadline, image decoding and checks). Target: our p50 within 1.1x (or
 * +3 ms) of the raw p50. `main ELU` is the main thread's event-loop utilization during the
 * calls: how much of the time the bridge's own event loop (MQTT, HTTP) could not run.
 *   npx tsx bench/transformers-backend.ts [rounds]
 * The tiny models make the figures the bridge's own overhead plus transformers.js's
 * pre/post-processing; real models add their ONNX compute on top.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline, RawImage } from '@huggingface/transformers';
import sharp from 'sharp';
import { configFromObject } from '../src/config/load.js';
import { TransformersBackend } from '../src/backends/transformers/index.js';
import { createLogger } from '../src/log/logger.js';
import { makeTinyAsr, makeTinyCaptioner, makeTinyEmbedder, makeTinyTts, makeTinyWhisper } from '../tests/fixtures/onnx/index.js';
import { percentile, printTable, timeIt } from './stats.js';

const rounds = Number(process.argv[2] ?? 20);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-transformers-'));
const log = createLogger('warn');
const runtime = { onnx_threads: 1 };
const sessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toBuffer();
const tone = Float32Array.from({ length: 16_000 * 3 }, (_, i) => 0.3 * Math.sin(i / 5));

interface Case {
  name: string;
  role: string;
  task: string;
  make: (dir: string) => Promise<unknown>;
  ours: (b: TransformersBackend) => Promise<unknown>;
  raw: (p: (input: unknown, opts?: Record<string, unknown>) => Promise<unknown>) => Promise<unknown>;
  rounds: number;
}

const cases: Case[] = [
  {
    name: 'embedding (bert, 4 texts)',
    role: 'embedding',
    task: 'feature-extraction',
    make: (d) => makeTinyEmbedder(d),
    ours: (b) => b.embed(['turn on the light', 'explain quantum physics', 'open the garage', 'is the door locked']),
    raw: (p) => p(['turn on the light', 'explain quantum physics', 'open the garage', 'is the door locked'], { pooling: 'mean', normalize: true }),
    rounds,
  },
  {
    name: 'vision (vit-gpt2, 640x480 jpeg)',
    role: 'vision',
    task: 'image-to-text',
    make: (d) => makeTinyCaptioner(d),
    ours: (b) => b.generate({ messages: [{ role: 'user', content: 'describe' }], images: [jpeg] }),
    raw: async (p) => p(await RawImage.fromBlob(new Blob([jpeg])), { max_new_tokens: 256 }),
    rounds,
  },
  {
    name: 'stt (wav2vec2 ctc, 3 s)',
    role: 'stt',
    task: 'automatic-speech-recognition',
    make: (d) => makeTinyAsr(d),
    ours: (b) => b.transcribe({ sampleRate: 16_000, samples: tone }),
    raw: (p) => p(tone),
    rounds,
  },
  {
    name: 'stt (whisper, 3 s)',
    role: 'stt',
    task: 'automatic-speech-recognition',
    make: (d) => makeTinyWhisper(d),
    ours: (b) => b.transcribe({ sampleRate: 16_000, samples: tone }),
    raw: (p) => p(tone),
    rounds: Math.max(3, Math.round(rounds / 4)),
  },
  {
    name: 'tts (vits, 40 chars)',
    role: 'tts',
    task: 'text-to-speech',
    make: (d) => makeTinyTts(d),
    ours: (b) => b.synthesize('the front door is open and a car arrived'),
    raw: (p) => p('the front door is open and a car arrived'),
    rounds,
  },
];

const rows: (string | number)[][] = [];
try {
  for (const c of cases) {
    const dir = path.join(tmp, c.name.split(' ')[0] ?? 'm', String(rows.length));
    await c.make(dir);
    const config = configFromObject({ models: { [c.role]: { backend: 'transformers', model: dir } }, runtime }, 'bench');
    const backend = new TransformersBackend({ role: c.role, spec: config.models[c.role] ?? (undefined as never), modelsDir: tmp, runtime: config.runtime, log });
    const t0 = performance.now();
    await backend.start();
    const coldMs = performance.now() - t0;
    const ours = await timeIt(() => c.ours(backend), c.rounds);
    await backend.dispose();
    const raw = (await pipeline(c.task as 'feature-extraction', dir, { device: 'cpu', dtype: 'fp32', session_options: sessionOptions, local_files_only: true })) as unknown as {
      (input: unknown, opts?: Record<string, unknown>): Promise<unknown>;
      dispose(): Promise<void>;
    };
    const base = await timeIt(() => c.raw(raw), c.rounds);
    await raw.dispose();
    const o50 = percentile(ours.times, 50);
    const r50 = percentile(base.times, 50);
    const ok = o50 <= Math.max(r50 * 1.1, r50 + 3);
    rows.push([
      c.name,
      coldMs.toFixed(0),
      o50.toFixed(1),
      percentile(ours.times, 95).toFixed(1),
      r50.toFixed(1),
      (o50 - r50).toFixed(1),
      ours.elu.toFixed(2),
      base.elu.toFixed(2),
      ok ? 'ok' : 'OVER',
    ]);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
printTable(
  `transformers backend vs raw transformers.js pipeline (${rounds} rounds, 1 ONNX thread; target p50 <= 1.1x raw or +3 ms)`,
  ['model', 'cold ms', 'p50 ms', 'p95 ms', 'raw p50 ms', 'overhead ms', 'main ELU', 'raw main ELU', 'target'],
  rows,
);
console.log(`load average (1 min) during the run: ${os.loadavg()[0]?.toFixed(1)} on ${os.availableParallelism()} cores`);
