import '../backends/espeak/kind.js';
import '../backends/wyoming/kind.js';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { resolveDir, type LoadedConfig } from '../config/load.js';
import { errorMessage } from '../core/errors.js';
import { createLogger } from '../log/logger.js';
import { SileroTrimmer, readWav, toSpeechAudio, writeWav16 } from '../media/audio/index.js';
import { createModelLayer } from '../router/model-layer.js';
import type { ModelRouter, Routed } from '../router/types.js';
import { checkSpeakable } from './text.js';

/** Largest WAV `sarai transcribe` reads (bytes). */
const MAX_WAV_FILE_BYTES = 256 * 1024 * 1024;

export interface VoiceCliOutcome {
  code: number;
}

async function withRouter<T>(loaded: LoadedConfig, json: boolean | undefined, run: (router: ModelRouter) => Promise<Routed<T>>, print: (r: Routed<T>) => string): Promise<VoiceCliOutcome> {
  const log = createLogger(loaded.config.log.level === 'debug' ? 'debug' : 'warn', process.stderr);
  const { backends, router } = createModelLayer(loaded.config, resolveDir(loaded, loaded.config.models_dir), log);
  await backends.start();
  try {
    const r = await run(router);
    const text = print(r);
    if (json) process.stdout.write(`${JSON.stringify({ text, route: r.route, model: r.model, latency_ms: r.latencyMs, reason: r.reason })}\n`);
    else {
      process.stdout.write(`${text}\n`);
      process.stderr.write(`route: ${r.route} (${r.model}), ${r.latencyMs} ms; ${r.reason}\n`);
    }
    return { code: 0 };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    if (json) process.stdout.write(`${JSON.stringify({ error: errorMessage(err), type: name })}\n`);
    process.stderr.write(`sarai: ${name}: ${errorMessage(err)}\n`);
    return { code: 1 };
  } finally {
    await backends.stop();
  }
}

/** `sarai transcribe <wav>`: a WAV file (any PCM/float format) through the stt path. */
export async function transcribeCommand(loaded: LoadedConfig, file: string, opts: { json?: boolean }): Promise<VoiceCliOutcome> {
  let audio;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
    if (s.size > MAX_WAV_FILE_BYTES) throw new Error(`${s.size} bytes; the limit is ${MAX_WAV_FILE_BYTES}`);
    const wav = readWav(await readFile(file), { maxSeconds: loaded.config.voice.max_utterance_s });
    audio = toSpeechAudio(wav.samples, wav.format.rate, wav.format.channels);
    if (loaded.config.voice.vad) {
      const vad = new SileroTrimmer();
      try {
        audio = (await vad.trim(audio)).audio;
      } finally {
        await vad.dispose();
      }
    }
  } catch (err) {
    process.stderr.write(`sarai transcribe: cannot read ${file}: ${errorMessage(err)}\n`);
    return { code: 2 };
  }
  const input = audio;
  return withRouter(loaded, opts.json, (router) => router.transcribe(input), (r) => r.value.text);
}

/** `sarai speak <text> -o <wav>`: text through the tts path into a 16-bit PCM WAV file. */
export async function speakCommand(loaded: LoadedConfig, rawText: string, opts: { out: string; json?: boolean }): Promise<VoiceCliOutcome> {
  let text: string;
  try {
    text = checkSpeakable(rawText);
  } catch (err) {
    process.stderr.write(`sarai speak: ${errorMessage(err)}\n`);
    return { code: 2 };
  }
  return withRouter(
    loaded,
    opts.json,
    async (router) => {
      const r = await router.synthesize(text);
      await writeFile(opts.out, writeWav16(r.value.audio));
      return r;
    },
    (r) => `${opts.out}: ${(r.value.audio.samples.length / r.value.audio.sampleRate).toFixed(2)} s at ${r.value.audio.sampleRate} Hz`,
  );
}
