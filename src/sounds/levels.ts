/** Level checks on a window of float samples in [-1, 1], before any model sees it. */

export interface WindowLevel {
  /** RMS level, dBFS (-Infinity for digital silence). */
  rmsDbfs: number;
  /** Fraction of samples at full scale (|x| >= 0.999): clipping. */
  clippedFraction: number;
}

const FULL_SCALE = 0.999;

export function measureLevel(samples: Float32Array): WindowLevel {
  let sum = 0;
  let clipped = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i] ?? 0;
    sum += x * x;
    if (Math.abs(x) >= FULL_SCALE) clipped++;
  }
  const n = Math.max(1, samples.length);
  const rms = Math.sqrt(sum / n);
  return { rmsDbfs: rms > 0 ? 20 * Math.log10(rms) : -Infinity, clippedFraction: clipped / n };
}

/**
 * Cuts audio into windows of `seconds`. A tail shorter than half a window joins the previous
 * window rather than being classified alone (a 0.1 s scrap says little); audio shorter than
 * one window is one window.
 */
export function splitWindows(samples: Float32Array, rate: number, seconds: number): Float32Array[] {
  const size = Math.max(1, Math.round(rate * seconds));
  if (samples.length <= size) return samples.length > 0 ? [samples] : [];
  const out: Float32Array[] = [];
  let start = 0;
  while (start < samples.length) {
    const rest = samples.length - start;
    const take = rest < size + size / 2 ? rest : size;
    out.push(samples.subarray(start, start + take));
    start += take;
  }
  return out;
}
