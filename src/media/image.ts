import { loadSharp } from './sharp.js';
import { InputError } from '../core/errors.js';
import { dHashFromRaw } from './image-hash.js';
import { sniffImage, type ImageFormat } from './image-magic.js';

/** Decompression-bomb guard: a small file may declare a huge canvas. */
export const MAX_INPUT_PIXELS = 50_000_000;

export interface PrepareOptions {
  /** Longest side sent to the model (px): the model's `image_size`. */
  maxSide: number;
  /** Largest accepted input (bytes). */
  maxBytes: number;
  /** JPEG quality of the re-encoded image (1-100). */
  quality?: number;
}

export interface PreparedImage {
  /** Re-encoded JPEG, longest side <= maxSide. */
  jpeg: Buffer;
  width: number;
  height: number;
  format: ImageFormat;
  /** 64-bit dHash of the scene. */
  hash: bigint;
}

/**
 * Checks bytes are an image (magic, then a full strict decode: a truncated JPEG fails),
 * resizes to the model's input size, re-encodes as JPEG and hashes the scene. Throws
 * InputError with a message fit for `sarai/error` for anything else.
 */
export async function prepareImage(bytes: Buffer, opts: PrepareOptions): Promise<PreparedImage> {
  const sharp = await loadSharp();
  if (bytes.length === 0) throw new InputError('empty payload: expected JPEG, PNG or WebP bytes');
  if (bytes.length > opts.maxBytes) {
    throw new InputError(`image of ${(bytes.length / 1_048_576).toFixed(1)} MB exceeds the limit of ${(opts.maxBytes / 1_048_576).toFixed(1)} MB`);
  }
  const format = sniffImage(bytes);
  if (!format) throw new InputError(`payload is not an image (${describeBytes(bytes)}): expected JPEG, PNG or WebP bytes`);
  try {
    // One decode (failOn 'truncated': a cut-off JPEG is an error, not a grey bottom half;
    // JPEG shrink-on-load makes it cheaper) to the small raw image, hashed in JS, then one
    // encode. Huffman optimisation is off: it costs ~1.3 ms per snapshot to save a few KB
    // on loopback.
    const small = await sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true })
      .rotate()
      // linear, not lanczos3: after shrink-on-load the reduce left is under 2x, where a tent
      // filter is as good for a model's input and ~1 ms cheaper per snapshot
      .resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = small.info;
    const encoding = sharp(small.data, { raw: { width, height, channels } }).jpeg({ quality: opts.quality ?? 85, optimiseCoding: false }).toBuffer();
    encoding.catch(() => undefined); // awaited below; never an unhandled rejection if hashing throws
    const hash = dHashFromRaw(small.data, width, height, channels); // while libvips encodes
    const jpeg = await encoding;
    return { jpeg, width, height, format, hash };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new InputError(`cannot decode ${format.toUpperCase()} image: ${msg}`);
  }
}

/** "42 bytes of text" / "1024 bytes, starts 00 11 22 33" for error messages (never the content). */
function describeBytes(b: Buffer): string {
  const head = b.subarray(0, 64);
  const printable = head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
  if (printable) return `${b.length} bytes of text`;
  return `${b.length} bytes, starts ${[...b.subarray(0, 4)].map((c) => c.toString(16).padStart(2, '0')).join(' ')}`;
}
