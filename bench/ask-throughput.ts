/**
 * Tokens/s of the full sarai/ask path (MQTT publish on a real mosquitto -> AskSource ->
 * LlamaBackend -> answer JSON back over MQTT) against raw node-llama-cpp (LlamaChatSession on
 * the same model, same threads, context, system prompt and token count), in one run.
 * Runs alternate (raw, ask, raw, ask...) so load from other processes hits both alike; the
 * best round of each shows the intrinsic cost on a busy machine, the median the typical one.
 * Target: ratio >= 0.95.   npx tsx bench/ask-throughput.ts [model.gguf]
 * TCP_NODELAY is on for the bridge (MqttBridge), the asker and the broker (set_tcp_nodelay in
 * tests/helpers/mosquitto.ts): with Nagle's algorithm each hop holds small answers up to 40 ms.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlamaChatSession } from 'node-llama-cpp';
import { DEFAULT_SYSTEM_PROMPT, LlamaBackend } from '../src/backends/llama/backend.js';
import { disposeSharedLlama, sharedLlama } from '../src/backends/llama/runtime.js';
import { configFromObject } from '../src/config/load.js';
import { ErrorReporter } from '../src/core/error-reporter.js';
import { Metrics } from '../src/core/metrics.js';
import type { AskAnswer } from '../src/core/results.js';
import { percentile } from './stats.js';
import { createLogger } from '../src/log/logger.js';
import { MqttBridge } from '../src/mqtt/client.js';
import { AskSource, askText, backendGenerate } from '../src/sources/ask.js';
import { tempModelDir, tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';
import { haveMosquitto, startMosquitto } from '../tests/helpers/mosquitto.js';
import { MqttProbe } from '../tests/helpers/mqtt-probe.js';

const ROUNDS = 7;
const MAX_TOKENS = 384;
const THREADS = 1;
const CONTEXT = 1024;
const QUESTION = 'What is a good temperature for a bedroom at night?';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = tempModelDir('sarai-bench-');
const models: [string, string][] = [];
if (process.argv[2]) models.push(['given', path.resolve(process.argv[2])]);
else {
  const real = path.resolve(repoRoot, '../shared/models/llama-2-tiny-random.gguf');
  if (existsSync(real)) models.push(['llama-2-tiny-random (32k SPM vocab)', real]);
  models.push(['generated tiny llama (64-dim)', tinyLlamaFile(path.join(tmp.dir, 'tiny.gguf'))]);
}

const log = createLogger('silent');
const median = (xs: number[]) => percentile(xs, 50);
/** Whole-answer times (ms) and token counts of the counted rounds: the seed's text P50 <= 2 s. */
type Timed = { ms: number; tokens: number };

async function benchModel(label: string, file: string): Promise<string[]> {
  const config = configFromObject(
    { models: { tiny: { backend: 'llama', gguf_file: file, context_length: CONTEXT, max_tokens: MAX_TOKENS, temperature: 0, timeout_s: 300 } }, runtime: { threads: THREADS, probe_load: false } },
    'bench',
  );
  const spec = config.models['tiny'];
  if (!spec) throw new Error('no tiny');

  // the bridge's path (loaded first; BENCH_RAW_FIRST=1 loads the raw model first: the order made no difference)
  const backend = new LlamaBackend({ role: 'tiny', spec, modelPath: file, runtime: config.runtime, log });
  const rawFirst = Boolean(process.env['BENCH_RAW_FIRST']);
  if (!rawFirst) await backend.start();

  // raw node-llama-cpp (its own model + context; the same process-wide Llama)
  const llama = await sharedLlama(config.runtime);
  const rawModel = await llama.loadModel({ modelPath: file });
  const rawCtx = await rawModel.createContext({ contextSize: CONTEXT, sequences: 1, threads: THREADS });
  const rawSeq = rawCtx.getSequence();
  if (rawFirst) await backend.start();
  const raw = async (): Promise<number> => {
    const session = new LlamaChatSession({ contextSequence: rawSeq, autoDisposeSequence: false, systemPrompt: DEFAULT_SYSTEM_PROMPT });
    let tokens = 0;
    const t0 = performance.now();
    await session.prompt(QUESTION, { maxTokens: MAX_TOKENS, temperature: 0, onToken: (t) => (tokens += t.length) });
    const s = (performance.now() - t0) / 1000;
    session.dispose({ disposeSequence: false });
    await rawSeq.clearHistory();
    if (process.env["BENCH_DEBUG"]) console.log("raw", tokens, "tokens", (s * 1000).toFixed(0), "ms");
    lastRaw = { ms: s * 1000, tokens };
    return tokens / s;
  };

  let lastRaw: Timed = { ms: 0, tokens: 0 };
  let lastAsk: Timed = { ms: 0, tokens: 0 };
  const rawTimes: Timed[] = [];
  const askTimes: Timed[] = [];
  let viaMqtt: (() => Promise<number>) | undefined;
  let cleanup = async () => {};
  if (haveMosquitto()) {
    const broker = await startMosquitto();
    const metrics = new Metrics();
    const bridge = new MqttBridge({ url: broker.url, baseTopic: 'sarai', protocolVersion: 5, keepaliveS: 30, reconnectMaxMs: 2000, maxPayloadBytes: 1 << 20 }, log, metrics);
    await bridge.connect();
    const source = new AskSource({ mqtt: bridge, errors: new ErrorReporter(bridge, log, metrics), log, generate: backendGenerate(backend) });
    await source.start();
    const probe = await MqttProbe.connect(broker.url, ['sarai/answer'], 5);
    // the asker stands for a client such as Home Assistant's; MqttBridge sets TCP_NODELAY itself
    (probe.client as unknown as { stream: { setNoDelay(v: boolean): void } }).stream.setNoDelay(true);
    let n = 0;
    viaMqtt = async () => {
      const id = `b${n++}`;
      const got = probe.waitForTopic('sarai/answer', 120_000, (m) => (JSON.parse(m.payload.toString()) as AskAnswer).id === id);
      const t0 = performance.now();
      await probe.publish('sarai/ask', JSON.stringify({ text: QUESTION, id }));
      const a = JSON.parse((await got).payload.toString()) as AskAnswer;
      if (a.error) throw new Error(a.error);
      lastAsk = { ms: performance.now() - t0, tokens: a.tokens };
      return a.tokens / ((performance.now() - t0) / 1000);
    };
    cleanup = async () => {
      await source.stop();
      await probe.close();
      await bridge.close();
      await broker.stop();
    };
  }
  const viaFunction = async (): Promise<number> => {
    const t0 = performance.now();
    const a = await askText(backendGenerate(backend), { text: QUESTION, id: 'f' });
    if (a.error) throw new Error(a.error);
    return a.tokens / ((performance.now() - t0) / 1000);
  };

  await raw(); // warm both paths once
  await (viaMqtt ?? viaFunction)();
  const r: number[] = [];
  const a: number[] = [];
  const f: number[] = [];
  // each path runs twice in a row and the second run counts: two copies of the model are
  // loaded, and switching between them costs cache warmth that neither path should be charged
  for (let i = 0; i < ROUNDS; i++) {
    await raw();
    r.push(await raw());
    rawTimes.push(lastRaw);
    await (viaMqtt ?? viaFunction)();
    a.push(await (viaMqtt ?? viaFunction)());
    if (viaMqtt) askTimes.push(lastAsk);
    if (viaMqtt) {
      await viaFunction();
      f.push(await viaFunction());
    }
  }
  await cleanup();
  await backend.dispose();
  await rawCtx.dispose();
  await rawModel.dispose();
  const path_ = viaMqtt ? 'sarai/ask over mosquitto' : 'askText (no mosquitto here)';
  const best = (xs: number[]) => Math.max(...xs);
  const row = (name: string, xs: number[]) =>
    `  ${name.padEnd(30)} best ${best(xs).toFixed(0).padStart(6)} tok/s  median ${median(xs).toFixed(0).padStart(6)} tok/s   [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
  return [
    `${label}: ${MAX_TOKENS} tokens x ${ROUNDS} rounds, threads ${THREADS}, n_ctx ${CONTEXT}`,
    row('raw node-llama-cpp (baseline)', r),
    row(path_, a),
    ...(f.length ? [row('askText (no MQTT)', f)] : []),
    `  fixed cost of the MQTT round trip: ~${((MAX_TOKENS / median(a) - MAX_TOKENS / median(f.length ? f : a)) * 1000).toFixed(1)} ms per question (median ask vs askText)`,
    `  ratio ask/raw: best ${(best(a) / best(r)).toFixed(3)}, median ${(median(a) / median(r)).toFixed(3)}   (target >= 0.95)`,
    ...(askTimes.length
      ? [
          `  whole answer P50: ${path_} ${median(askTimes.map((x) => x.ms)).toFixed(0)} ms (${median(askTimes.map((x) => x.tokens))} tokens), raw ${median(rawTimes.map((x) => x.ms)).toFixed(0)} ms (${median(rawTimes.map((x) => x.tokens))} tokens)   (seed: text P50 <= 2 s)`,
        ]
      : []),
  ];
}

const lines: string[] = [];
try {
  for (const [label, file] of models) lines.push(...(await benchModel(label, file)));
} finally {
  await disposeSharedLlama();
  tmp.cleanup();
}
process.stdout.write(`${lines.join('\n')}\n`);
