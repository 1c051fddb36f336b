/**
 * The router's own cost, excluding model calls, and the semantic classifier's latency on a
 * tiny real embedding model.
 *   npx tsx bench/router-decision.ts [iterations]
 *
 * 1. Decision time: the full router path (plan the chain, registry checks, limiter, circuit,
 *    deadline timer, result) over in-memory backends that answer at once, so what is timed is
 *    the router alone. Target p99 < 1 ms. Baseline: a bare `await backend.generate()` on the
 *    same fake (what calling a backend directly costs).
 * 2. Classifier: embedding the question and comparing with the exemplars, on the tiny
 *    transformers.js embedder fixture (ONNX Runtime) and on the tiny GGUF (node-llama-cpp).
 *    Random-weight models: the time is real, the similarity is not meaningful.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../src/backends/kinds.js';
import { BackendRegistry, type BackendFactory } from '../src/backends/registry.js';
import type { Backend, Capability, GenerateRequest, GenerateResult } from '../src/backends/types.js';
import { configFromObject } from '../src/config/load.js';
import type { Config } from '../src/config/schema/index.js';
import { errorMessage } from '../src/core/errors.js';
import { createLogger } from '../src/log/logger.js';
import { TierClassifier } from '../src/router/classifier.js';
import { Router } from '../src/router/router.js';
import { tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';
import { makeTinyEmbedder } from '../tests/fixtures/onnx/index.js';
import { percentile, printTable } from './stats.js';

const iterations = Number(process.argv[2] ?? 20_000);
const log = createLogger('silent');

/** An in-memory backend for this bench only: answers at once, embeds by hashing words. */
class InstantBackend implements Backend {
  readonly kind = 'instant';
  readonly model: string;
  constructor(
    readonly role: string,
    readonly capabilities: ReadonlySet<Capability>,
  ) {
    this.model = `instant-${role}`;
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  health() {
    return { state: 'ready' as const };
  }
  generate(req: GenerateRequest): Promise<GenerateResult> {
    return Promise.resolve({ text: req.messages.at(-1)?.content ?? '', model: this.model, tokens: 1, latencyMs: 0 });
  }
  /** Vectors are cached per text: the fake's own allocations must not show up as router time. */
  private readonly vectors = new Map<string, Float32Array>();
  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.resolve(
      texts.map((t) => {
        let v = this.vectors.get(t);
        if (!v) {
          v = new Float32Array(256);
          for (const w of t.split(/\s+/)) {
            const i = (w.length * 31 + (w.charCodeAt(0) || 0)) % 256;
            v[i] = (v[i] ?? 0) + 1;
          }
          this.vectors.set(t, v);
        }
        return v;
      }),
    );
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

const CAPS: Record<string, Capability[]> = {
  omni: ['text', 'image', 'video', 'audio_in', 'json_schema'],
  vision: ['image'],
  tiny: ['text'],
  expert: ['text'],
  embedding: ['embedding'],
};
const instant: BackendFactory = (ctx) => new InstantBackend(ctx.role, new Set(CAPS[ctx.role] ?? ['text']));

const exemplars = {
  tiny: ['turn on the kitchen lights', 'what time is it', 'is the front door locked', 'set a timer for ten minutes'],
  expert: ['explain step by step how a heat pump works', 'write a detailed plan to reduce the energy use of my house', 'analyse these sensor readings'],
};

function routerWith(models: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): { router: Router; registry: BackendRegistry; config: Config } {
  const config = configFromObject({ models, router: { exemplars, expert_keywords: ['step by step'], ...extra } }, 'bench');
  const kinds = new Map<string, BackendFactory>([['openai', instant], ['ollama', instant], ['llama', instant], ['transformers', instant]]);
  const registry = new BackendRegistry({ config, modelsDir: os.tmpdir(), log, kinds });
  registry.build();
  return { router: new Router(registry, log), registry, config };
}

async function time(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < Math.min(2000, n); i++) await fn(); // warm the JIT
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const row = (name: string, v: number[], target: string): string[] => [name, fmt(percentile(v, 50)), fmt(percentile(v, 99)), target];

const lineup = {
  omni: { backend: 'openai', url: 'http://127.0.0.1:9/v1' },
  vision: { backend: 'transformers', model: 'x' },
  tiny: { backend: 'llama', gguf_file: 'x.gguf' },
  expert: { backend: 'ollama', url: 'http://127.0.0.1:9', model: 'solar', fallbacks: ['tiny'] },
  embedding: { backend: 'llama', gguf_file: 'e.gguf' },
};
const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
const rules = routerWith({ ...lineup, embedding: { ...lineup.embedding, enabled: false } });
const semantic = routerWith(lineup);
const down = routerWith({ ...lineup, omni: { ...lineup.omni, enabled: false } });
const fake = new InstantBackend('tiny', new Set(['text']));

const decision = [
  row('baseline: backend.generate() direct', await time(() => fake.generate({ messages: [{ role: 'user', content: 'hi' }] }), iterations), '-'),
  row('answer: text, rules tier', await time(() => rules.router.answer('turn on the kitchen lights please'), iterations), '< 1 ms'),
  row('answer: text, semantic tier (instant embedder)', await time(() => semantic.router.answer('turn on the kitchen lights please'), iterations), '< 1 ms'),
  row('describe: image -> omni', await time(() => rules.router.describe({ prompt: 'x', images: [jpeg] }), iterations), '< 1 ms'),
  row('describe: image + audio, omni off -> vision', await time(() => down.router.describe({ prompt: 'x', images: [jpeg], audio: { sampleRate: 16000, samples: new Float32Array(16) } }), iterations), '< 1 ms'),
];
const classifier = new TierClassifier(semantic.config.router);
const table = await classifier.exemplarVectors((t) => fake.embed(t));
const q = (await fake.embed(['turn on the kitchen lights please']))[0] ?? new Float32Array(256);
const decideOnly = await time(() => Promise.resolve(classifier.decide(q, table)), iterations);
decision.push(row('classifier.decide (cosine, 7 exemplars x 256 dims)', decideOnly, '-'));
const ruleOnly = await time(() => Promise.resolve(classifier.rules('walk me step by step through the boiler settings', 'bench')), iterations);
decision.push(row('classifier.rules (keywords + length)', ruleOnly, '-'));
printTable(`Router decision time, excluding model calls (${iterations} runs each, p50/p99)`, ['path', 'p50', 'p99', 'target'], decision);
await Promise.all([rules.registry.stop(), semantic.registry.stop(), down.registry.stop()]);

// --- 2. classifier latency with tiny real embedding models ---
if (process.env.BENCH_DECISION_ONLY === '1') process.exit(0);
const tmp = await mkdtemp(path.join(os.tmpdir(), 'sarai-bench-router-'));
const questions = ['turn on the kitchen lights', 'explain the quantum physics theory and compare it', 'open the garage door please', 'why is the heating off'];
const embedRows: string[][] = [];
async function classifierBench(name: string, models: Record<string, Record<string, unknown>>, runs: number): Promise<void> {
  const config = configFromObject({ models, runtime: { threads: 1, onnx_threads: 1 }, router: { exemplars } }, 'bench');
  const registry = new BackendRegistry({ config, modelsDir: tmp, log });
  registry.build();
  const router = new Router(registry, log);
  try {
    const t0 = performance.now();
    await router.embed(['warm up']);
    const load = performance.now() - t0;
    const c = new TierClassifier(config.router);
    const embed = (texts: string[]) => router.embed(texts).then((r) => r.value);
    const t1 = performance.now();
    await c.exemplarVectors(embed);
    const exemplarMs = performance.now() - t1;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await c.classify(questions[i % questions.length] ?? '', embed);
      times.push(performance.now() - t);
    }
    embedRows.push([name, fmt(load), fmt(exemplarMs), fmt(percentile(times, 50)), fmt(percentile(times, 99))]);
  } catch (err) {
    embedRows.push([name, `unavailable: ${errorMessage(err).slice(0, 100)}`, '', '', '']);
  } finally {
    await registry.stop();
  }
}
try {
  const onnx = await makeTinyEmbedder(path.join(tmp, 'embedder'));
  await classifierBench('transformers.js tiny BERT embedder (32 dims)', { embedding: { backend: 'transformers', model: onnx.dir, task: 'feature-extraction' } }, 200);
  tinyLlamaFile(path.join(tmp, 'embed.gguf'), { steer: false, seed: 7 });
  await classifierBench('node-llama-cpp tiny GGUF (64 dims)', { embedding: { backend: 'llama', gguf_file: 'embed.gguf', context_length: 512 } }, 200);
  printTable('Semantic classifier: embed the question + cosine to exemplars (tiny real models)', ['embedding model', 'first load', 'exemplars once', 'classify p50', 'classify p99'], embedRows);
  console.log('\nTarget: router decision p99 < 1 ms (table 1). Real EmbeddingGemma-300M costs more per text; the exemplars are embedded once and cached.');
} finally {
  await rm(tmp, { recursive: true, force: true });
}
process.exit(0); // node-llama-cpp keeps its binding alive
