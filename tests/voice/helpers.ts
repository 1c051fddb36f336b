/** Shared pieces for the voice and Wyoming tests: real espeak-ng speech, ffprobe, a router on real backends. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EspeakBackend } from '../../src/backends/espeak/index.js';
import { TransformersBackend } from '../../src/backends/transformers/index.js';
import type { Audio, Backend } from '../../src/backends/types.js';
import { configFromObject } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { makeTinyAsr, makeTinyTts, type TinyTts } from '../fixtures/onnx/index.js';
import type { Routed } from '../../src/router/types.js';
import type { VoiceRouter } from '../../src/voice/pipeline.js';
import type { GenerateResult, SynthesizeResult, TranscribeResult } from '../../src/backends/types.js';

/** Real speech: espeak-ng's WAV (22050 Hz, 16-bit mono) for a text. */
export function espeakWav(text: string, extra: string[] = []): Buffer {
  const r = spawnSync('espeak-ng', ['--stdout', ...extra, text], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`espeak-ng failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export interface Probe {
  codec: string;
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  durationS: number;
}

/** ffprobe's view of a WAV (from a temp file, so it can check the size). Throws when ffprobe cannot parse it. */
export function ffprobe(wav: Buffer): Probe {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-probe-'));
  const file = path.join(dir, 'a.wav');
  writeFileSync(file, wav);
  const r = spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_streams', '-show_format', file]);
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`ffprobe rejected the audio: ${r.stderr.toString()}`);
  const j = JSON.parse(r.stdout.toString()) as { streams: Record<string, unknown>[]; format: Record<string, unknown> };
  const s = j.streams[0] ?? {};
  return {
    codec: String(s['codec_name']),
    sampleRate: Number(s['sample_rate']),
    channels: Number(s['channels']),
    bitsPerSample: Number(s['bits_per_sample']),
    durationS: Number(s['duration'] ?? j.format['duration']),
  };
}

/** Duration a 16-bit PCM WAV claims in its header (data bytes / byte rate), s. */
export function claimedDurationS(wav: Buffer): number {
  return wav.readUInt32LE(40) / wav.readUInt32LE(28);
}

function routed<T>(value: T, route: string, model: string, latencyMs: number): Routed<T> {
  return { value, route, reason: `test: ${route}`, model, latencyMs };
}

/**
 * The router's voice methods on real backends (stt and tts); the text answer is a fixed
 * template, standing in for the tiny/expert text models the router picks between.
 */
export class BackendVoiceRouter implements VoiceRouter {
  calls = { transcribe: 0, answer: 0, synthesize: 0 };
  constructor(
    readonly stt: Backend,
    readonly tts: Backend,
    readonly answerText: (transcript: string) => string = (t) => `you said ${t}`,
  ) {}

  async transcribe(audio: Audio): Promise<Routed<TranscribeResult>> {
    this.calls.transcribe++;
    const r = await this.stt.transcribe!(audio);
    return routed(r, 'stt', r.model, r.latencyMs);
  }
  async answer(text: string): Promise<Routed<GenerateResult>> {
    this.calls.answer++;
    const started = Date.now();
    const out = this.answerText(text);
    return routed({ text: out, model: 'template', tokens: out.split(' ').length, latencyMs: Date.now() - started }, 'tiny', 'template', Date.now() - started);
  }
  async synthesize(text: string): Promise<Routed<SynthesizeResult>> {
    this.calls.synthesize++;
    const r = await this.tts.synthesize!(text);
    return routed(r, 'tts', r.model, r.latencyMs);
  }
}

/** Real STT/TTS backends on the tiny generated ONNX models (and espeak-ng), in `dir`. */
export async function speechBackends(dir: string): Promise<{ asr: TransformersBackend; tinyTts: TransformersBackend; espeak: EspeakBackend; asrText: string; tts: TinyTts; dispose(): Promise<void> }> {
  const asrModel = await makeTinyAsr(path.join(dir, 'asr'));
  const tts = await makeTinyTts(path.join(dir, 'tts'));
  const config = configFromObject(
    {
      models: { stt: { backend: 'transformers', model: asrModel.dir }, tts: { backend: 'transformers', model: tts.dir }, speak: { backend: 'espeak', task: 'text-to-speech' } },
      runtime: { onnx_threads: 1 },
    },
    'test',
  );
  const log = createLogger('silent');
  const asr = new TransformersBackend({ role: 'stt', spec: config.models['stt']!, modelsDir: dir, runtime: config.runtime, log });
  const tinyTts = new TransformersBackend({ role: 'tts', spec: config.models['tts']!, modelsDir: dir, runtime: config.runtime, log });
  const espeak = new EspeakBackend({ role: 'tts', spec: config.models['speak']!, log });
  return {
    asr,
    tinyTts,
    espeak,
    asrText: asrModel.text,
    tts,
    async dispose() {
      await Promise.all([asr.dispose(), tinyTts.dispose(), espeak.dispose()]);
    },
  };
}
