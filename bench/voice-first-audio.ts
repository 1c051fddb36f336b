/**
 * Time to first audio of a spoken answer: sentence by sentence while the model writes
 * (voice.speak_by_sentence: true) against the whole-answer path (false: synthesize once the
 * answer is complete), in the same run, rounds interleaved. A satellite publishes espeak-ng
 * speech through a real mosquitto; the bridge transcribes it (tiny ONNX wav2vec2 on
 * transformers.js), asks the `tiny` role on an OpenAI-compatible server (the protocol fixture,
 * writing a three-sentence answer at a model's pace: `tokenMs` per piece, over SSE when
 * streamed) and speaks with espeak-ng. Measured at the satellite: utterance published -> first
 * `.../tts` WAV, and -> `.../response` (everything spoken).
 *   npx tsx bench/voice-first-audio.ts [rounds] [ms per token]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTinyAsr } from '../tests/fixtures/onnx/index.js';
import { OpenAIServer } from '../tests/fixtures/openai-server.js';
import { startTestApp, type TestApp } from '../tests/helpers/app.js';
import { startMosquitto } from '../tests/helpers/mosquitto.js';
import { MqttProbe } from '../tests/helpers/mqtt-probe.js';
import { percentile, printTable } from './stats.js';

const rounds = Number(process.argv[2] ?? 10);
const tokenMs = Number(process.argv[3] ?? 50);
const ANSWER = 'The front door is locked. All the lights downstairs are off and the alarm is set. Tomorrow will be sunny with a high of twenty degrees.';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-first-audio-'));
await makeTinyAsr(path.join(tmp, 'asr'));
const spoken = spawnSync('espeak-ng', ['--stdout', 'is the house locked up for the night']);
if (spoken.status !== 0) throw new Error('espeak-ng is needed for the bench (apt-get install espeak-ng)');
const wav = spoken.stdout;

const mosq = await startMosquitto();
const model = await OpenAIServer.start({ reply: ANSWER, tokenMs });
const modes = { sentence: true, whole: false } as const;
const apps: Record<string, TestApp> = {};
for (const [mode, bySentence] of Object.entries(modes)) {
  apps[mode] = await startTestApp({
    mqtt: { url: mosq.url, base_topic: `bench_${mode}` },
    log: { level: 'warn' },
    models_dir: tmp,
    voice: { speak_by_sentence: bySentence },
    models: {
      stt: { backend: 'transformers', model: path.join(tmp, 'asr') },
      tiny: { backend: 'openai', url: model.url, model: 'bench' },
      tts: { backend: 'espeak' },
    },
    runtime: { threads: 1, onnx_threads: 1 },
  });
}
const probe = await MqttProbe.connect(mosq.url, ['+/voice/+/tts', '+/voice/+/response']);
const first: Record<string, number[]> = { sentence: [], whole: [] };
const done: Record<string, number[]> = { sentence: [], whole: [] };
for (let i = -2; i < rounds; i++) {
  for (const mode of Object.keys(modes)) {
    probe.clear();
    const base = `bench_${mode}/voice/kitchen`;
    const t0 = performance.now();
    await probe.publish(`${base}/audio`, wav);
    const m = await probe.waitFor((x) => x.topic === `${base}/tts` || x.topic === `${base}/response`, 60_000);
    const firstMs = performance.now() - t0;
    if (m.topic.endsWith('/response')) throw new Error(`voice exchange failed: ${m.payload.toString()}`);
    const r = JSON.parse((await probe.waitForTopic(`${base}/response`, 60_000)).payload.toString()) as { error?: string; text: string };
    const doneMs = performance.now() - t0;
    if (r.error || r.text !== ANSWER) throw new Error(`unexpected response: ${JSON.stringify(r)}`);
    if (i < 0) continue; // warm-up: models load
    first[mode]!.push(firstMs);
    done[mode]!.push(doneMs);
  }
}
await probe.close();
for (const a of Object.values(apps)) await a.stop();
await model.close();
await mosq.stop();
rmSync(tmp, { recursive: true, force: true });

const row = (mode: string, label: string) => [label, percentile(first[mode]!, 50).toFixed(0), percentile(first[mode]!, 95).toFixed(0), percentile(done[mode]!, 50).toFixed(0), percentile(done[mode]!, 95).toFixed(0)];
const pieces = ANSWER.match(/\s*\S+/g)?.length ?? 0;
printTable(
  `voice: time to first audio, ${rounds} rounds each, interleaved (answer: 3 sentences, ${pieces} pieces at ${tokenMs} ms each = ${pieces * tokenMs} ms of generation; tts espeak-ng)`,
  ['path', 'first audio p50 ms', 'first audio p95 ms', 'all spoken p50 ms', 'all spoken p95 ms'],
  [row('whole', 'whole answer, then speech (baseline)'), row('sentence', 'sentence by sentence while writing')],
);
const gain = percentile(first['whole']!, 50) - percentile(first['sentence']!, 50);
console.log(`\nfirst audio p50 earlier by ${gain.toFixed(0)} ms than the whole-answer path in the same run`);
console.log(`machine load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} on ${os.cpus().length} cores`);
