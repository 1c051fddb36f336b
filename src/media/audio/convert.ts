import type { Audio } from '../../backends/types.js';
import { resample } from './resample.js';

/** The rate every speech model here takes (Hz). */
export const SPEECH_RATE_HZ = 16_000;

/** Interleaved samples -> mono by averaging channels. */
export function downmix(samples: Float32Array, channels: number): Float32Array {
  if (channels === 1) return samples;
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c] ?? 0;
    out[f] = sum / channels;
  }
  return out;
}

/** Interleaved audio at any rate -> 16 kHz mono, what STT backends take. */
export function toSpeechAudio(samples: Float32Array, rate: number, channels: number): Audio {
  return { sampleRate: SPEECH_RATE_HZ, samples: resample(downmix(samples, channels), rate, SPEECH_RATE_HZ) };
}
