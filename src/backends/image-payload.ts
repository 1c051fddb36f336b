import type { Metadata } from 'sharp';
import { loadSharp } from '../media/sharp.js';
import { errorMessage, InputError } from '../core/errors.js';

/** Bigger images are refused before decoding (bytes). */
export const MAX_REMOTE_IMAGE_BYTES = 20 * 1024 * 1024;
/** Decompression-bomb guard for the resize step (pixels). */
const MAX_PIXELS = 50_000_000;

export type ImageMime = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';

/** The MIME type named by an image's first bytes, or undefined when it is not an image we send. */
export function imageMime(bytes: Uint8Array): ImageMime | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return 'image/gif';
  return undefined;
}

export interface RemoteImage {
  bytes: Buffer;
  mime: ImageMime;
}

/**
 * Checks an image before it goes to a model server: a known format, at most
 * MAX_REMOTE_IMAGE_BYTES, and when its longest side is above `maxSide` px it is scaled down
 * and re-encoded as JPEG (a 4K snapshot costs a vision model thousands of tokens for nothing).
 * Anything else is an InputError naming the image (`label`).
 */
export async function prepareRemoteImage(bytes: Buffer, maxSide: number, label: string): Promise<RemoteImage> {
  const sharp = await loadSharp();
  if (bytes.length === 0) throw new InputError(`${label} is empty`);
  if (bytes.length > MAX_REMOTE_IMAGE_BYTES) {
    throw new InputError(`${label} is ${(bytes.length / 1_048_576).toFixed(1)} MB; the limit is ${MAX_REMOTE_IMAGE_BYTES / 1_048_576} MB`);
  }
  const mime = imageMime(bytes);
  if (!mime) throw new InputError(`${label} is not a JPEG, PNG, WebP or GIF image`);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
  } catch (err) {
    throw new InputError(`${label} could not be read as ${mime} (${errorMessage(err)})`);
  }
  const side = Math.max(meta.width, meta.height);
  if (side <= maxSide) return { bytes, mime };
  try {
    const jpeg = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate()
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer();
    return { bytes: jpeg, mime: 'image/jpeg' };
  } catch (err) {
    throw new InputError(`${label} could not be decoded (${errorMessage(err)}); send JPEG, PNG or WebP bytes`);
  }
}
