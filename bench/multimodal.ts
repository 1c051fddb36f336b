/**
 * The multimodal backend (llama.node + libmtmd in a model host process) against raw
 * @fugood/llama.node in this process, on the same tiny GGUF + mmproj, prompt, image and JSON
 * grammar: snapshot -> camera JSON, the two run interleaved, median of RUNS each (target: throughput
 * ratio >= 0.95).
 * Then RSS of the bridge process over 20 load/answer/unload cycles of the backend (target:
 * drift within 50 MB).   npx tsx bench/multimodal.ts
 */
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import sharp from 'sharp';
import { MultimodalBackend } from '../src/backends/multimodal/index.js';
import { jsonSchemaGrammar } from '../src/backends/multimodal/grammar.js';
import { configFromObject } from '../src/config/load.js';
import { CAMERA_RESULT_SCHEMA } from '../src/core/camera-schema.js';
import { createLogger } from '../src/log/logger.js';
import { tempModelDir, tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';
import { tinyVisionMmproj } from '../tests/fixtures/gguf/tiny-mtmd.js';
import { percentile, printTable } from './stats.js';

const RUNS = 30;
const WARM = 4;
const CYCLES = 20;
const MB = 1_048_576;
const PROMPT = 'Describe what the camera sees. Answer in JSON.';
const tmp = tempModelDir('sarai-bench-mtmd-');
const text = tinyLlamaFile(path.join(tmp.dir, 'text.gguf'), { nEmbd: 64 });
const mmproj = tinyVisionMmproj(path.join(tmp.dir, 'mmproj.gguf'), { projectionDim: 64 });
// a different image per run (the same list for both paths), so no run reuses the previous one's cached encoding
const jpegs = await Promise.all(Array.from({ length: 34 }, (_, i) => sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10 * i, g: 40, b: 20 } } }).jpeg().toBuffer()));
const jpeg = jpegs[0] as Buffer;
const config = configFromObject(
  { models: { omni: { backend: 'llama', gguf_file: text, mmproj_file: mmproj, context_length: 2048, max_tokens: 256, temperature: 0 } }, runtime: { threads: 1, probe_load: false } },
  'bench',
);
const spec = config.models['omni'];
if (!spec) throw new Error('no omni');
const log = createLogger('silent');

interface Sample {
  totalMs: number;
  promptMs: number;
  promptTokens: number;
  firstTokenMs: number;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (() => void) | undefined;
const rss = () => {
  gc?.();
  return process.memoryUsage().rss / MB;
};

try {
  // Both paths loaded side by side and run interleaved on the same image, alternating which goes
  // first: on a shared, loaded machine two sequential phases measure the load, not the backend.
  const backend = new MultimodalBackend({ role: 'omni', spec, modelPath: text, mmprojPath: mmproj, runtime: config.runtime, log });
  await backend.start();
  const LLAMA_NODE = '@fugood/llama.node';
  const { loadModel } = (await import(LLAMA_NODE)) as { loadModel: (o: Record<string, unknown>) => Promise<RawContext> };
  interface RawContext {
    initMultimodal(o: Record<string, unknown>): Promise<boolean>;
    completion(o: Record<string, unknown>): Promise<{ text: string; timings: { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number } }>;
    release(): Promise<void>;
  }
  const ctx = await loadModel({ model: text, n_ctx: 2048, n_threads: 1, n_gpu_layers: 0 });
  await ctx.initMultimodal({ path: mmproj, use_gpu: false });
  // a raw user builds the schema's grammar once too (the backend caches it per schema)
  const grammar = await jsonSchemaGrammar(CAMERA_RESULT_SCHEMA);

  const viaBackend = async (image: Buffer): Promise<Sample> => {
    const t0 = performance.now();
    const r = await backend.generate({ messages: [{ role: 'user', content: PROMPT }], images: [image], jsonSchema: CAMERA_RESULT_SCHEMA });
    const totalMs = performance.now() - t0;
    const perToken = r.timings.predictedTokens > 0 ? r.timings.predictedMs / r.timings.predictedTokens : 0;
    return { totalMs, promptMs: r.timings.promptMs, promptTokens: r.timings.promptTokens, firstTokenMs: r.timings.promptMs + perToken };
  };
  const viaRaw = async (image: Buffer): Promise<Sample> => {
    const t0 = performance.now();
    const r = await ctx.completion({
      messages: [{ role: 'user', content: [{ type: 'text', text: PROMPT }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${image.toString('base64')}` } }] }],
      n_predict: 256,
      temperature: 0,
      grammar,
    });
    JSON.parse(r.text);
    const totalMs = performance.now() - t0;
    const perToken = r.timings.predicted_n > 0 ? r.timings.predicted_ms / r.timings.predicted_n : 0;
    return { totalMs, promptMs: r.timings.prompt_ms, promptTokens: r.timings.prompt_n, firstTokenMs: r.timings.prompt_ms + perToken };
  };

  const ours: Sample[] = [];
  const raw: Sample[] = [];
  const pairRatios: number[] = [];
  for (let i = 0; i < RUNS + WARM; i++) {
    const image = jpegs[i % jpegs.length] as Buffer;
    let a: Sample;
    let b: Sample;
    if (i % 2 === 0) {
      a = await viaRaw(image);
      b = await viaBackend(image);
    } else {
      b = await viaBackend(image);
      a = await viaRaw(image);
    }
    if (i < WARM) continue;
    raw.push(a);
    ours.push(b);
    pairRatios.push(a.totalMs / b.totalMs);
  }
  await ctx.release();
  await backend.dispose();

  const med = (s: Sample[], k: keyof Sample) => percentile(s.map((x) => x[k]), 50);
  const row = (label: string, s: Sample[]) => [label, med(s, 'promptMs').toFixed(1), med(s, 'promptTokens'), med(s, 'firstTokenMs').toFixed(1), med(s, 'totalMs').toFixed(1)];
  printTable(`snapshot -> camera JSON, 64x64 JPEG, interleaved, median of ${RUNS}`, ['path', 'prompt+image encode ms', 'prompt tokens', 'first token ms', 'total ms'], [row('raw @fugood/llama.node', raw), row('MultimodalBackend (host process)', ours)]);
  const ratio = med(raw, 'totalMs') / med(ours, 'totalMs');
  console.log(`throughput ratio backend/raw: ${ratio.toFixed(3)}   (target >= 0.95) ${ratio >= 0.95 ? 'OK' : 'UNDER'}`);
  console.log(`  per-pair ratio: p25 ${percentile(pairRatios, 25).toFixed(3)}  p50 ${percentile(pairRatios, 50).toFixed(3)}  p75 ${percentile(pairRatios, 75).toFixed(3)}`);

  // --- RSS over load/unload cycles ---
  const before = rss();
  const after: number[] = [];
  const b = new MultimodalBackend({ role: 'omni', spec, modelPath: text, mmprojPath: mmproj, runtime: config.runtime, log });
  for (let i = 0; i < CYCLES; i++) {
    await b.generate({ messages: [{ role: 'user', content: PROMPT }], images: [jpeg], maxTokens: 8 });
    await b.unload();
    after.push(rss());
  }
  await b.dispose();
  const first = after[0] ?? 0;
  const last = after.at(-1) ?? 0;
  console.log(`bridge RSS over ${CYCLES} load + answer + unload cycles: before ${before.toFixed(1)} MB, after cycle 1 ${first.toFixed(1)} MB, after cycle ${CYCLES} ${last.toFixed(1)} MB`);
  console.log(`  drift cycle 1 -> ${CYCLES}: ${(last - first).toFixed(1)} MB   (target: within 50 MB) ${Math.abs(last - first) <= 50 ? 'OK' : 'OVER'}`);
} finally {
  tmp.cleanup();
}
