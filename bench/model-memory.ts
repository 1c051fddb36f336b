/**
 * RSS after 20 load/generate/dispose cycles of a LlamaBackend against RSS after the first
 * (target: within 50 MB), on the llama.cpp-converted 32k-vocab model when present and on a
 * generated tiny model. Every cycle loads the model, creates its context, answers once and
 * disposes everything.   npx tsx bench/model-memory.ts
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { LlamaBackend } from '../src/backends/llama/backend.js';
import { disposeSharedLlama } from '../src/backends/llama/runtime.js';
import { configFromObject } from '../src/config/load.js';
import { createLogger } from '../src/log/logger.js';
import { tempModelDir, tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';

const CYCLES = 20;
const MB = 1_048_576;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = tempModelDir('sarai-bench-mem-');
const models: [string, string][] = [];
const real = path.resolve(repoRoot, '../shared/models/llama-2-tiny-random.gguf');
if (existsSync(real)) models.push(['llama-2-tiny-random (32k vocab)', real]);
models.push(['generated tiny llama (2 MB, 1024 vocab rows)', tinyLlamaFile(path.join(tmp.dir, 'mem.gguf'), { nEmbd: 128, nLayer: 4, nFf: 256 })]);
const log = createLogger('silent');
// A full GC before each reading, so RSS shows what is retained rather than garbage V8 has not collected yet.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (() => void) | undefined;
/** RSS after a full GC, MB. */
const rss = () => {
  gc?.();
  return process.memoryUsage().rss / MB;
};
const heap = () => process.memoryUsage().heapUsed / MB;

const lines: string[] = [];
try {
  for (const [label, file] of models) {
    const config = configFromObject(
      { models: { tiny: { backend: 'llama', gguf_file: file, context_length: 1024, max_tokens: 16, temperature: 0 } }, runtime: { threads: 1, probe_load: false } },
      'bench',
    );
    const spec = config.models['tiny'];
    if (!spec) throw new Error('no tiny');
    const before = rss();
    const after: number[] = [];
    const heaps: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < CYCLES; i++) {
      const b = new LlamaBackend({ role: 'tiny', spec, modelPath: file, runtime: config.runtime, log });
      await b.generate({ messages: [{ role: 'user', content: 'How warm is it inside?' }] });
      await b.embed(['kitchen lights']);
      await b.dispose();
      after.push(rss());
      heaps.push(heap());
    }
    const first = after[0] ?? 0;
    const last = after.at(-1) ?? 0;
    lines.push(
      `${label}: ${CYCLES} cycles of load + answer + embed + dispose in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      `  RSS before ${before.toFixed(1)} MB, after cycle 1 ${first.toFixed(1)} MB, after cycle ${CYCLES} ${last.toFixed(1)} MB, peak ${Math.max(...after).toFixed(1)} MB`,
      `  JS heap after cycle 1 ${(heaps[0] ?? 0).toFixed(1)} MB, after cycle ${CYCLES} ${(heaps.at(-1) ?? 0).toFixed(1)} MB`,
      `  growth cycle 1 -> ${CYCLES}: ${(last - first).toFixed(1)} MB   (target: within 50 MB) ${Math.abs(last - first) <= 50 ? 'OK' : 'OVER'}`,
    );
  }
} finally {
  await disposeSharedLlama();
  tmp.cleanup();
}
process.stdout.write(`${lines.join('\n')}\n`);
