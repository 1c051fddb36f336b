/**
 * Sound events: classification latency per audio window through the bridge's path (level
 * checks, TransformersBackend: worker hop, limiter, deadline, per-label sigmoid; then the
 * sound matching) against the same window given straight to an in-process transformers.js
 * `audio-classification` pipeline (the baseline), in one run, on the generated wav2vec2-shaped
 * classifier. Windows of 1, 2 and 10 s (audio_events.window_s). `main ELU`: how busy the
 * bridge's own event loop was during the calls.
 *   npx tsx bench/sound-events.ts [rounds]
 * The tiny model makes the figures our overhead plus transformers.js's pre/post-processing; a
 * real AudioSet model (AST) adds its ONNX compute on top. AST's own preprocessing (a 1024 x 128
 * log-mel fbank, in JavaScript, in the worker) is timed alone at the end with the production
 * preprocessor_config values: that part does not need the weights.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ASTFeatureExtractor, pipeline } from '@huggingface/transformers';
import { configFromObject } from '../src/config/load.js';
import { TransformersBackend } from '../src/backends/transformers/index.js';
import { createLogger } from '../src/log/logger.js';
import { measureLevel } from '../src/sounds/levels.js';
import { matchSounds } from '../src/sounds/match.js';
import { makeTinySoundClassifier } from '../tests/fixtures/onnx/index.js';
import { percentile, printTable, timeIt } from './stats.js';

const rounds = Number(process.argv[2] ?? 30);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-sounds-'));
const log = createLogger('warn');

const rows: (string | number)[][] = [];
const astRows: (string | number)[][] = [];
try {
  const { dir } = await makeTinySoundClassifier(path.join(tmp, 'sounds'));
  const config = configFromObject({ models: { audio_events: { backend: 'transformers', model: dir } }, runtime: { onnx_threads: 1 }, cameras: { cam: { sounds: ['glass'] } } }, 'bench');
  const backend = new TransformersBackend({ role: 'audio_events', spec: config.models['audio_events'] ?? (undefined as never), modelsDir: tmp, runtime: config.runtime, log });
  const t0 = performance.now();
  await backend.start();
  const coldMs = performance.now() - t0;
  const raw = (await pipeline('audio-classification', dir, { device: 'cpu', dtype: 'fp32', session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 }, local_files_only: true })) as unknown as {
    (input: unknown, opts?: Record<string, unknown>): Promise<unknown>;
    dispose(): Promise<void>;
  };
  for (const seconds of [1, 2, 10]) {
    const window = Float32Array.from({ length: 16_000 * seconds }, (_, i) => 0.2 * Math.sin(i / 5));
    const ours = await timeIt(async () => {
      const level = measureLevel(window);
      if (level.rmsDbfs < config.audio_events.silence_dbfs) return [];
      return matchSounds(await backend.classifyAudio({ sampleRate: 16_000, samples: window }), config.audio_events.sounds, ['glass']);
    }, rounds);
    const base = await timeIt(() => raw(window, { top_k: 8 }), rounds);
    const o50 = percentile(ours.times, 50);
    const r50 = percentile(base.times, 50);
    rows.push([`${seconds} s window`, o50.toFixed(1), percentile(ours.times, 95).toFixed(1), r50.toFixed(1), percentile(base.times, 95).toFixed(1), (o50 - r50).toFixed(1), ours.elu.toFixed(2), base.elu.toFixed(2)]);
  }
  await raw.dispose();
  await backend.dispose();
  // the AST AudioSet preprocessor (Xenova/ast-finetuned-audioset-10-10-0.4593 preprocessor_config.json)
  const ast = new ASTFeatureExtractor({ feature_extractor_type: 'ASTFeatureExtractor', sampling_rate: 16_000, num_mel_bins: 128, max_length: 1024, do_normalize: true, mean: -4.2677393, std: 4.5689974, feature_size: 1, padding_value: 0, return_attention_mask: false });
  for (const seconds of [2, 10]) {
    const window = Float32Array.from({ length: 16_000 * seconds }, (_, i) => 0.2 * Math.sin(i / 5));
    const fe = await timeIt(() => ast(window), Math.max(5, Math.round(rounds / 5)));
    astRows.push([`${seconds} s window`, percentile(fe.times, 50).toFixed(1), percentile(fe.times, 95).toFixed(1)]);
  }
  console.log(`cold start (folder check + worker + pipeline load): ${coldMs.toFixed(0)} ms`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
printTable(
  `sound classification per window: bridge path vs raw transformers.js audio-classification pipeline (${rounds} rounds, 1 ONNX thread, tiny wav2vec2-shaped model)`,
  ['window', 'p50 ms', 'p95 ms', 'raw p50 ms', 'raw p95 ms', 'overhead ms', 'main ELU', 'raw main ELU'],
  rows,
);
printTable('AST AudioSet preprocessing alone (transformers.js ASTFeatureExtractor, 1024 x 128 fbank; runs in the pipeline worker)', ['window', 'p50 ms', 'p95 ms'], astRows);
console.log(`load average (1 min) during the run: ${os.loadavg()[0]?.toFixed(1)} on ${os.availableParallelism()} cores`);
