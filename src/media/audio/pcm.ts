import { InputError } from '../../core/errors.js';

/** How raw PCM bytes are laid out. `width` is bytes per sample. */
export interface PcmFormat {
  /** Samples per second per channel (Hz). */
  rate: number;
  /** Bytes per sample: 1 (unsigned 8-bit), 2, 3, 4 (signed little-endian), or 4 with float. */
  width: number;
  channels: number;
  float?: boolean;
}

/** Bounds for any audio that comes from outside (Hz, channels). */
export const MIN_RATE_HZ = 4_000;
export const MAX_RATE_HZ = 192_000;
export const MAX_CHANNELS = 16;

/** Rejects formats we cannot or should not decode: a clear message, never a guess. */
export function checkPcmFormat(f: PcmFormat, label = 'audio'): void {
  if (!Number.isInteger(f.rate) || f.rate < MIN_RATE_HZ || f.rate > MAX_RATE_HZ) {
    throw new InputError(`${label}: sample rate ${String(f.rate)} Hz is outside ${MIN_RATE_HZ}-${MAX_RATE_HZ} Hz`);
  }
  if (!Number.isInteger(f.channels) || f.channels < 1 || f.channels > MAX_CHANNELS) {
    throw new InputError(`${label}: ${String(f.channels)} channels is outside 1-${MAX_CHANNELS}`);
  }
  const widths = f.float ? [4] : [1, 2, 3, 4];
  if (!widths.includes(f.width)) {
    throw new InputError(`${label}: sample width ${String(f.width)} bytes is not supported (${f.float ? 'float: 4' : 'PCM: 1, 2, 3 or 4'})`);
  }
}

/** Bytes per second of a format. */
export function bytesPerSecond(f: PcmFormat): number {
  return f.rate * f.width * f.channels;
}

/**
 * Decodes interleaved little-endian PCM to float samples in [-1, 1] (still interleaved).
 * A trailing partial frame is ignored. Non-finite float samples become 0.
 */
export function decodePcm(bytes: Uint8Array, f: PcmFormat): Float32Array {
  const frameBytes = f.width * f.channels;
  const n = Math.floor(bytes.length / frameBytes) * f.channels;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (f.float ? 'f32' : f.width) {
    case 1:
      for (let i = 0; i < n; i++) out[i] = ((bytes[i] ?? 128) - 128) / 128;
      break;
    case 2:
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32_768;
      break;
    case 3:
      for (let i = 0; i < n; i++) {
        const o = i * 3;
        const v = (bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8) | ((bytes[o + 2] ?? 0) << 16);
        out[i] = ((v << 8) >> 8) / 8_388_608; // sign-extend 24 bits
      }
      break;
    case 4:
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true) / 2_147_483_648;
      break;
    case 'f32':
      for (let i = 0; i < n; i++) {
        const v = view.getFloat32(i * 4, true);
        out[i] = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
      }
      break;
    default:
      throw new InputError(`unsupported sample width ${String(f.width)}`);
  }
  return out;
}

/** Float samples in [-1, 1] -> 16-bit little-endian PCM bytes (clipped). */
export function encodePcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i] ?? 0));
    out.writeInt16LE(Math.round(v < 0 ? v * 32_768 : v * 32_767), i * 2);
  }
  return out;
}

/** s16le bytes -> samples in [-1, 1). */
export function pcm16ToFloat(pcm: Buffer): Float32Array {
  const n = Math.floor(pcm.length / 2);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(i * 2) / 32768;
  return out;
}
