/**
 * The voice round trip through a real mosquitto on loopback and the whole bridge (real
 * router): a satellite publishes espeak-ng speech (one WAV, or start/chunk/stop), the bridge
 * transcribes it (tiny ONNX wav2vec2 on transformers.js), answers (tiny GGUF on
 * node-llama-cpp, 4 tokens) and speaks (tiny ONNX VITS in-process, or espeak-ng), and the
 * satellite receives `.../tts`. (The tiny GGUF answers with a run of quotes; the bench prefixes
 * "okay" so the tiny VITS has letters to speak.) Measured at the satellite: audio stop (or the WAV) published
 * -> TTS WAV received; model time is what the router reports for stt + answer + tts; the
 * bridge's own overhead is the difference (MQTT both ways, WAV parsing, resampling to 16 kHz,
 * scheduling, WAV encoding, TTS URL, publishing). Target: overhead p95 <= 50 ms. `in-bridge`
 * is the pipeline's own count (utterance complete -> TTS published, minus model time): the
 * same without MQTT transit and WAV/stream parsing.
 *   npx tsx bench/voice-roundtrip.ts [rounds]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePcm16, readWav, toSpeechAudio, writeWav16 } from '../src/media/audio/index.js';
import { tinyLlamaFile } from '../tests/fixtures/gguf/tiny-llama.js';
import { makeTinyAsr, makeTinyTts } from '../tests/fixtures/onnx/index.js';
import { startTestApp } from '../tests/helpers/app.js';
import { startMosquitto } from '../tests/helpers/mosquitto.js';
import { MqttProbe } from '../tests/helpers/mqtt-probe.js';
import { percentile, printTable } from './stats.js';

const rounds = Number(process.argv[2] ?? 20);
const TARGET_P95_MS = 50;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-voice-'));
tinyLlamaFile(path.join(tmp, 'tiny.gguf'));
await makeTinyAsr(path.join(tmp, 'asr'));
await makeTinyTts(path.join(tmp, 'tts'));

const spoken = spawnSync('espeak-ng', ['--stdout', 'turn on the kitchen lights please']);
if (spoken.status !== 0) throw new Error('espeak-ng is needed for the bench (apt-get install espeak-ng)');
const wav = spoken.stdout;
const speech = readWav(wav);
const pcm = encodePcm16(speech.samples);

const mosq = await startMosquitto();
const rows: (string | number)[][] = [];
let worstP95 = 0;

for (const tts of ['transformers', 'espeak'] as const) {
  const app = await startTestApp({
    mqtt: { url: mosq.url },
    log: { level: 'warn' },
    models_dir: tmp,
    models: {
      stt: { backend: 'transformers', model: path.join(tmp, 'asr') },
      tiny: { backend: 'llama', gguf_file: 'tiny.gguf', max_tokens: 4, context_length: 1024 },
      tts: tts === 'espeak' ? { backend: 'espeak' } : { backend: 'transformers', model: path.join(tmp, 'tts') },
    },
    runtime: { threads: 1, onnx_threads: 1 },
  });
  // model time per exchange, as the router reports it
  let modelMs = 0;
  const router = app.app.ctx.router;
  for (const m of ['transcribe', 'answer', 'synthesize'] as const) {
    const orig = router[m].bind(router) as (...a: unknown[]) => Promise<{ latencyMs: number }>;
    (router as unknown as Record<string, unknown>)[m] = async (...a: unknown[]) => {
      const r = await orig(...a);
      modelMs += r.latencyMs;
      // the tiny GGUF answers with a run of quotes, which the tiny VITS cannot pronounce
      if (m === 'answer') (r as unknown as { value: { text: string } }).value.text = `okay ${(r as unknown as { value: { text: string } }).value.text}`;
      return r;
    };
  }
  const probe = await MqttProbe.connect(mosq.url, ['sarai/voice/+/tts', 'sarai/voice/+/response']);
  for (const mode of ['wav', 'stream'] as const) {
    const total: number[] = [];
    const model: number[] = [];
    const overhead: number[] = [];
    const inside: number[] = [];
    for (let i = -2; i < rounds; i++) {
      probe.clear();
      modelMs = 0;
      const sat = `bench_${mode}`;
      let t0: number;
      if (mode === 'wav') {
        t0 = performance.now();
        await probe.publish(`sarai/voice/${sat}/audio`, wav);
      } else {
        await probe.publish(`sarai/voice/${sat}/audio/start`, JSON.stringify({ rate: speech.format.rate, width: 2, channels: 1 }));
        for (let off = 0; off < pcm.length; off += 4096) await probe.publish(`sarai/voice/${sat}/audio/chunk`, pcm.subarray(off, off + 4096));
        t0 = performance.now();
        await probe.publish(`sarai/voice/${sat}/audio/stop`, '');
      }
      const first = await probe.waitFor((m) => m.topic === `sarai/voice/${sat}/tts` || m.topic === `sarai/voice/${sat}/response`, 60_000);
      const ms = performance.now() - t0;
      if (first.topic.endsWith('/response')) throw new Error(`voice exchange failed: ${first.payload.toString()}`);
      await probe.waitForTopic(`sarai/voice/${sat}/response`, 60_000);
      if (i < 0) continue; // warm-up: model loads
      const logged = app.logs.lines.filter((l) => l['msg'] === 'voice response').at(-1);
      inside.push(Number(logged?.['overhead_ms'] ?? NaN));
      total.push(ms);
      model.push(modelMs);
      overhead.push(Math.max(0, ms - modelMs));
    }
    const p95 = percentile(overhead, 95);
    worstP95 = Math.max(worstP95, p95);
    rows.push([
      `${tts === 'espeak' ? 'espeak-ng' : 'tiny VITS'} TTS, ${mode === 'wav' ? 'one WAV' : 'start/chunk/stop'}`,
      percentile(total, 50).toFixed(1),
      percentile(total, 95).toFixed(1),
      percentile(model, 50).toFixed(1),
      percentile(overhead, 50).toFixed(1),
      p95.toFixed(1),
      percentile(inside, 95).toFixed(1),
      p95 <= TARGET_P95_MS ? 'ok' : 'OVER',
    ]);
  }
  await probe.close();
  await app.stop();
}
await mosq.stop();
rmSync(tmp, { recursive: true, force: true });

// The bridge's CPU work per exchange alone (no MQTT, no models, no scheduling): parse the
// WAV, convert to 16 kHz mono, encode a 2 s answer as WAV.
const cpu: number[] = [];
const answer = { sampleRate: 22050, samples: speech.samples };
for (let i = -5; i < rounds * 5; i++) {
  const t0 = performance.now();
  const w = readWav(wav);
  toSpeechAudio(w.samples, w.format.rate, w.format.channels);
  writeWav16(answer);
  if (i >= 0) cpu.push(performance.now() - t0);
}
rows.push(['bridge CPU only: WAV parse + 16 kHz + WAV encode', '-', '-', '-', percentile(cpu, 50).toFixed(1), percentile(cpu, 95).toFixed(1), '-', percentile(cpu, 95) <= TARGET_P95_MS ? 'ok' : 'OVER']);

printTable(
  `voice round trip, ${rounds} rounds each (speech ${speech.durationS.toFixed(2)} s at ${speech.format.rate} Hz; stt tiny wav2vec2, answer tiny GGUF 4 tokens)`,
  ['case', 'total p50 ms', 'total p95 ms', 'model p50 ms', 'overhead p50 ms', 'overhead p95 ms', 'in-bridge p95 ms', `target p95 <= ${TARGET_P95_MS} ms`],
  rows,
);
console.log(`\nmachine load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} on ${os.cpus().length} cores`);
console.log(`baseline: the issue's target, bridge overhead (round trip minus model time) p95 <= ${TARGET_P95_MS} ms; worst measured p95 ${worstP95.toFixed(1)} ms`);
