/**
 * History questions at 100 000 timeline rows: latency (p50/p95) retrieval only and end to end
 * with the tiny text model the tests generate, and retrieval quality (recall@5) on the 50
 * held-in question/event pairs in bench/history/pairs.ts, vector (sqlite-vec) against the
 * keyword baseline (FTS5) in the same run over the same rows.
 *
 * Embedding: bench/history/hashed-embedder.ts (hashed bag of words + char 3-grams, 256 dims),
 * deterministic and meaningful, unlike the tests' tiny random models; it stands in for the
 * embedding role (EmbeddingGemma in production), so the recall figure is for that embedder.
 * "Retrieval only" is answerHistory with a text step that returns at once: question parsing,
 * exact counts, query embedding, KNN or FTS5, reading the rows and building the prompt.
 * Run: npx tsx bench/history.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LlamaBackend } from '../src/backends/llama/backend.js';
import { disposeSharedLlama } from '../src/backends/llama/runtime.js';
import { configFromObject } from '../src/config/load.js';
import type { CameraResult } from '../src/core/results.js';
import { answerHistory, type HistoryDeps, type HistoryGeneration } from '../src/history/answer.js';
import { createLogger } from '../src/log/logger.js';
import { TimelineStore } from '../src/publishers/timeline/store.js';
import { tempModelDir, tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';
import { seededRandom } from '../tests/fixtures/seeded-random.js';
import { hashedEmbedding } from './history/hashed-embedder.js';
import { FILLER, PAIRS, PLACES } from './history/pairs.js';
import { cpuBusySince, cpuSample, percentile, printTable } from './stats.js';

const ROWS = 100_000;
const DIM = 256;
const EMBEDDER = `hashed-bow-3gram-${DIM}`;
const E2E_QUESTIONS = 50;
const NOW = Date.now();

const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-history-'));
const models = tempModelDir();
const store = new TimelineStore(dir, { days: 3650, maxBytes: 64 * 1024 * 1_048_576 });
const cpu0 = cpuSample();
const rand = seededRandom(15);

function row(id: string, camera: string, ts: number, summary: string): CameraResult {
  return {
    id, camera, summary, description: summary, objects: [], alert: false, severity: 'none', event_type: 'other', route: 'omni',
    route_reason: 'bench', model: 'bench', latency_ms: 0, ts: new Date(ts).toISOString(), source: 'mqtt',
  };
}

try {
  // 100 000 rows over the last ~7 days (one every 6 s), the 50 held-in events at random places among them
  const start = NOW - ROWS * 6_000;
  const targetAt = new Map<number, number>();
  while (targetAt.size < PAIRS.length) {
    const at = Math.floor(rand() * ROWS);
    if (!targetAt.has(at)) targetAt.set(at, targetAt.size);
  }
  let t0 = performance.now();
  for (let i = 0; i < ROWS; i++) {
    const ts = start + i * 6_000;
    const p = targetAt.get(i);
    const pair = p === undefined ? undefined : PAIRS[p];
    if (pair) store.add(row(`target_${p}`, pair.camera, ts, pair.summary));
    else {
      const place = PLACES[Math.floor(rand() * PLACES.length)] as string;
      const text = (FILLER[Math.floor(rand() * FILLER.length)] as string).replace('{place}', place);
      store.add(row(`r${i}`, place.replace(' ', '_'), ts, text));
    }
  }
  const insertS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (;;) {
    const batch = store.index.unembedded(2_000);
    if (batch.length === 0) break;
    store.index.putVectors(EMBEDDER, batch, batch.map((b) => hashedEmbedding(b.text, DIM)));
  }
  const embedS = (performance.now() - t0) / 1000;
  console.log(`timeline: ${ROWS.toLocaleString()} rows inserted in ${insertS.toFixed(1)} s (FTS5 on insert); ${EMBEDDER} vectors into sqlite-vec in ${embedS.toFixed(1)} s`);

  const quick = async (): Promise<HistoryGeneration> => ({ text: '', model: 'none', route: 'none', route_reason: 'retrieval only', tokens: 0 });
  const base = { store: () => store, timeZone: '', cameras: ['front_door', 'driveway', 'garden', 'backyard', 'street', 'garage'], now: () => NOW };
  const vectorDeps: HistoryDeps = { ...base, topK: 5, generate: quick, embed: async (texts) => ({ vectors: texts.map((t) => hashedEmbedding(t, DIM)), model: EMBEDDER }) };
  const keywordDeps: HistoryDeps = { ...base, topK: 5, generate: quick };
  const signal = new AbortController().signal;

  // recall@5 on the 50 pairs (no time filter: the whole 100 000 rows are searched)
  const recall = async (deps: HistoryDeps): Promise<number> => {
    let hit = 0;
    for (let i = 0; i < PAIRS.length; i++) {
      const a = await answerHistory(deps, (PAIRS[i] as { question: string }).question, signal);
      if (a.sources.some((s) => s.id === `target_${i}`)) hit++;
    }
    return hit / PAIRS.length;
  };
  const recallHybrid = await recall(vectorDeps);
  const recallKeyword = await recall(keywordDeps);
  // the vector index alone (no fusion), straight from sqlite-vec
  let vecHits = 0;
  PAIRS.forEach((p, i) => {
    const seqs = store.index.nearest(hashedEmbedding(p.question, DIM), 5, {}).map((r) => r.seq);
    if (store.bySeq(seqs).some((e) => e.result.id === `target_${i}`)) vecHits++;
  });
  const recallVector = vecHits / PAIRS.length;

  // latency: 200 questions of four shapes
  const questions = [
    ...PAIRS.map((p) => p.question),
    ...PAIRS.map((p) => `${p.question.replace(/\?$/, '')} today?`),
    ...PAIRS.map((_, i) => `how many ${['cars', 'dogs', 'people', 'vans', 'cats'][i % 5]} ${['today', 'yesterday', 'since 8', 'this week', 'on monday'][i % 5]}?`),
    ...PAIRS.map((p) => `what happened at the ${p.camera.replace('_', ' ')} in the last 3 hours?`),
  ];
  const time = async (deps: HistoryDeps, qs: string[]): Promise<number[]> => {
    const ms: number[] = [];
    for (const q of qs) {
      const t = performance.now();
      await answerHistory(deps, q, signal);
      ms.push(performance.now() - t);
    }
    return ms;
  };
  await time(vectorDeps, questions.slice(0, 10)); // warm-up
  const vecMs = await time({ ...vectorDeps, topK: 8 }, questions);
  const kwMs = await time({ ...keywordDeps, topK: 8 }, questions);

  // end to end with the tiny text model (tests' generator; random weights, so the words are noise)
  const config = configFromObject({ runtime: { threads: 1 }, models: { tiny: { backend: 'llama', name: 'tiny-test', context_length: 4096, max_tokens: 16, temperature: 0 } } }, 'bench');
  const llama = new LlamaBackend({ role: 'tiny', spec: config.models['tiny'] as NonNullable<typeof config.models['tiny']>, modelPath: tinyLlamaFile(path.join(models.dir, 'tiny.gguf')), runtime: config.runtime, log: createLogger('silent') });
  let tokens = 0;
  const e2eDeps: HistoryDeps = {
    ...vectorDeps,
    topK: 8,
    generate: async (system, prompt, s) => {
      const r = await llama.generate({ messages: [{ role: 'system', content: system }, { role: 'user', content: prompt }], signal: s });
      tokens += r.tokens;
      return { text: r.text, model: r.model, route: 'tiny', route_reason: 'bench', tokens: r.tokens };
    },
  };
  const e2eQs = questions.filter((_, i) => i % 4 === 0).slice(0, E2E_QUESTIONS);
  await time(e2eDeps, e2eQs.slice(0, 3)); // loads the model
  tokens = 0;
  const e2eMs = await time(e2eDeps, e2eQs);
  await llama.dispose();
  await disposeSharedLlama();

  const f = (n: number): string => n.toFixed(1);
  printTable(
    `History questions over ${ROWS.toLocaleString()} rows (ms); baseline: keyword (FTS5) retrieval in the same run`,
    ['path', 'questions', 'p50', 'p95', 'p99'],
    [
      ['retrieval only, hybrid (sqlite-vec KNN + FTS5, fused)', vecMs.length, f(percentile(vecMs, 50)), f(percentile(vecMs, 95)), f(percentile(vecMs, 99))],
      ['retrieval only, keyword (FTS5 bm25)', kwMs.length, f(percentile(kwMs, 50)), f(percentile(kwMs, 95)), f(percentile(kwMs, 99))],
      [`end to end, hybrid + tiny llama (${Math.round(tokens / e2eMs.length)} tokens/answer)`, e2eMs.length, f(percentile(e2eMs, 50)), f(percentile(e2eMs, 95)), f(percentile(e2eMs, 99))],
    ],
  );
  printTable('Retrieval quality: recall@5 on 50 held-in question/event pairs among 100 000 rows', ['retrieval', 'recall@5'], [
    [`hybrid, what sarai/ask does (vector + FTS5, reciprocal-rank fusion)`, recallHybrid.toFixed(2)],
    [`vector only (${EMBEDDER}, sqlite-vec cosine)`, recallVector.toFixed(2)],
    ['keyword baseline (FTS5 bm25, porter)', recallKeyword.toFixed(2)],
  ]);
  console.log(`\nmachine CPU busy during the run (all processes): ${Math.round(cpuBusySince(cpu0) * 100)}% of ${os.cpus().length} cores; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
  models.cleanup();
}
