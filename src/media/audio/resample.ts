/**
 * Our own resampler rather than ffmpeg: voice utterances are seconds long and already in
 * memory, and spawning ffmpeg per utterance costs tens of ms (it would eat most of the 50 ms
 * bridge-overhead budget) and needs a program the embedded default must not require. A
 * windowed-sinc (Blackman) interpolator with the cutoff at the lower Nyquist frequency is
 * band-limited (no aliasing when going down from 44.1/48 kHz) and costs ~2*HALF_WIDTH taps
 * per output sample per ratio.
 */
const HALF_WIDTH = 8; // zero crossings each side of the kernel centre
/** Kernel table entries per input sample of distance (linear interpolation between them). */
const TABLE_RES = 256;

/** Resamples mono float samples from `fromRate` to `toRate` (Hz). */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples;
  const ratio = toRate / fromRate;
  const outLength = Math.max(1, Math.round(samples.length * ratio));
  const out = new Float32Array(outLength);
  // below 1 (downsampling) the filter is widened to cut at the new Nyquist frequency
  const cutoff = Math.min(1, ratio);
  const radius = HALF_WIDTH / cutoff; // in input samples
  // the kernel depends only on the distance: tabulate it once per call (no trig per tap)
  const size = Math.ceil(radius * TABLE_RES) + 2;
  const table = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    const x = k / TABLE_RES;
    table[k] = x > radius ? 0 : kernel(x * cutoff, x / radius);
  }
  const last = samples.length - 1;
  for (let i = 0; i < outLength; i++) {
    const centre = i / ratio;
    const lo = Math.max(0, Math.ceil(centre - radius));
    const hi = Math.min(last, Math.floor(centre + radius));
    let acc = 0;
    let norm = 0;
    for (let j = lo; j <= hi; j++) {
      const pos = Math.abs(j - centre) * TABLE_RES;
      const k = Math.floor(pos);
      const a = table[k] ?? 0;
      const w = a + ((table[k + 1] ?? 0) - a) * (pos - k);
      acc += (samples[j] ?? 0) * w;
      norm += w;
    }
    out[i] = norm > 1e-9 ? acc / norm : 0;
  }
  return out;
}

/** sinc(t) times a Blackman window over u in [-1, 1]. */
function kernel(t: number, u: number): number {
  const s = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
  const w = 0.42 + 0.5 * Math.cos(Math.PI * u) + 0.08 * Math.cos(2 * Math.PI * u);
  return s * w;
}
