import sharp, { type Metadata } from 'sharp';
import { InputError } from '../../core/errors.js';
import { jpegFrame } from '../../media/jpeg-header.js';
import type { Audio } from '../types.js';

/** Longest audio one request takes (s): the Whisper-style encoders pad to 30 s windows, ~1,500 tokens each. */
export const MAX_AUDIO_S = 120;
/** Largest image side accepted (px); the projector resizes to its own input size anyway. */
export const MAX_IMAGE_SIDE = 4096;
/** Smallest image side (px): below this there is nothing for the encoder to see. */
export const MIN_IMAGE_SIDE = 8;

/**
 * An image as the data: URL the host passes to libmtmd: decoded and re-encoded as a plain
 * sRGB JPEG (CMYK, alpha, animation and odd formats never reach stb_image inside llama.cpp),
 * refused with InputError when too small, too large or not an image.
 */
export async function imageDataUrl(bytes: Buffer): Promise<string> {
  // the common case, a camera's 8-bit 3-component baseline/progressive JPEG, is settled from its
  // header here: sharp's metadata() costs a thread-pool hop (~1 ms a snapshot on a loaded box)
  const header = jpegFrame(bytes);
  if (header && header.components === 3 && header.precision === 8 && header.sof <= 2) {
    checkSize(header.width, header.height);
    return `data:image/jpeg;base64,${bytes.toString('base64')}`;
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_IMAGE_SIDE * MAX_IMAGE_SIDE }).metadata();
  } catch (err) {
    throw new InputError(`image could not be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
  checkSize(meta.width ?? 0, meta.height ?? 0);
  if ((meta.pages ?? 1) > 1) throw new InputError(`animated image (${meta.pages} frames): send one frame`);
  // a plain 3-channel sRGB JPEG (what cameras send) goes as it is; anything else is re-encoded
  if (meta.format === 'jpeg' && meta.channels === 3 && meta.space === 'srgb') return `data:image/jpeg;base64,${bytes.toString('base64')}`;
  const jpeg = await sharp(bytes).flatten({ background: '#ffffff' }).toColourspace('srgb').jpeg({ quality: 90 }).toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

function checkSize(width: number, height: number): void {
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) throw new InputError(`image of ${width}x${height} px is too small (at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE})`);
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) throw new InputError(`image of ${width}x${height} px is too large (at most ${MAX_IMAGE_SIDE} px a side)`);
}

/** Audio as a 16-bit PCM WAV data: URL (llama.node reads any other string as a file path). */
export function audioDataUrl(audio: Audio): string {
  const seconds = audio.samples.length / audio.sampleRate;
  if (audio.samples.length === 0) throw new InputError('audio is empty');
  if (seconds > MAX_AUDIO_S) throw new InputError(`audio of ${Math.round(seconds)} s is longer than ${MAX_AUDIO_S} s`);
  let peak = 0;
  for (const s of audio.samples) peak = Math.max(peak, Math.abs(s));
  if (peak < 1e-4) throw new InputError('audio is silent');
  const n = audio.samples.length;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVE', 8);
  b.write('fmt ', 12);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(audio.sampleRate, 24);
  b.writeUInt32LE(audio.sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, audio.samples[i] ?? 0)) * 32767), 44 + i * 2);
  return `data:audio/wav;base64,${b.toString('base64')}`;
}
