import { InputError } from '../../core/errors.js';
import type { Audio } from '../types.js';

/** Longest utterance accepted (s): voice commands are seconds long; this bounds memory. */
export const MAX_AUDIO_SECONDS = 300;

/**
 * Checks audio and brings it to the model's rate (Hz). Callers normally send 16 kHz already;
 * other rates are resampled by linear interpolation, which is enough for speech models (no
 * anti-alias filter: downsampling from 22.05/44.1/48 kHz keeps speech bands intact).
 */
export function audioForModel(audio: Audio, targetRate: number, label: string): Float32Array {
  const { sampleRate, samples } = audio;
  if (!Number.isFinite(sampleRate) || sampleRate < 1000 || sampleRate > 384_000) {
    throw new InputError(`${label}: sample rate ${sampleRate} Hz is not a usable audio rate`);
  }
  if (!(samples instanceof Float32Array)) throw new InputError(`${label}: samples must be a Float32Array`);
  if (samples.length === 0) throw new InputError(`${label}: audio is empty`);
  if (samples.length / sampleRate > MAX_AUDIO_SECONDS) {
    throw new InputError(`${label}: audio is ${(samples.length / sampleRate).toFixed(0)} s long; the limit is ${MAX_AUDIO_SECONDS} s`);
  }
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) throw new InputError(`${label}: sample ${i} is not a finite number`);
  }
  return sampleRate === targetRate ? samples : resampleLinear(samples, sampleRate, targetRate);
}

export function resampleLinear(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  const outLength = Math.max(1, Math.round((samples.length * toRate) / fromRate));
  const out = new Float32Array(outLength);
  const step = fromRate / toRate;
  const last = samples.length - 1;
  for (let i = 0; i < outLength; i++) {
    const pos = i * step;
    const j = Math.min(Math.floor(pos), last);
    const frac = pos - j;
    const a = samples[j] ?? 0;
    const b = samples[Math.min(j + 1, last)] ?? a;
    out[i] = a + (b - a) * frac;
  }
  return out;
}
