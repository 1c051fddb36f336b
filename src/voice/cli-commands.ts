import '../backends/espeak/kind.js';
import '../backends/wyoming/kind.js';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { LoadedConfig } from '../config/load.js';
import { errorMessage } from '../core/errors.js';
import { SileroTrimmer, readWav, toSpeechAudio, writeWav16 } from '../media/audio/index.js';
import type { SynthesizeResult, TranscribeResult } from '../backends/types.js';
import { runWithRouter, type CliOutcome } from '../router/cli-commands.js';
import type { Routed } from '../router/types.js';
import { checkSpeakable } from './text.js';

/** Largest WAV `sarai transcribe` reads (bytes). */
const MAX_WAV_FILE_BYTES = 256 * 1024 * 1024;

export type VoiceCliOutcome = CliOutcome;

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
  return runWithRouter<TranscribeResult>(loaded, { ...(opts.json !== undefined ? { json: opts.json } : {}), text: (r) => r.value.text }, (router) => router.transcribe(input));
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
  const shown = { text: (r: Routed<SynthesizeResult>) => `${opts.out}: ${(r.value.audio.samples.length / r.value.audio.sampleRate).toFixed(2)} s at ${r.value.audio.sampleRate} Hz` };
  return runWithRouter(loaded, { ...(opts.json !== undefined ? { json: opts.json } : {}), ...shown }, async (router) => {
    const r = await router.synthesize(text);
    await writeFile(opts.out, writeWav16(r.value.audio));
    return r;
  });
}
