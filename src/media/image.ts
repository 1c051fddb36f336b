import type { Metadata, Sharp } from 'sharp';
import { loadSharp } from './sharp.js';
import { jpegOrientation } from './jpeg-exif.js';
import { jpegSize } from './jpeg-header.js';
import { InputError } from '../core/errors.js';
import { dHashFromRaw } from './image-hash.js';
import { sniffImage, type ImageFormat } from './image-magic.js';

/** Decompression-bomb guard: a small file may declare a huge canvas. */
export const MAX_INPUT_PIXELS = 50_000_000;
/** Smaller than this (px, either side) there is no scene to describe, and every such image hashes alike. */
export const MIN_INPUT_SIDE = 8;

function checkMinSide(width: number, height: number): void {
  if (width < MIN_INPUT_SIDE || height < MIN_INPUT_SIDE) throw new InputError(`image of ${width}x${height} px is too small to describe (at least ${MIN_INPUT_SIDE}x${MIN_INPUT_SIDE})`);
}

export interface PrepareOptions {
  /** Longest side sent to the model (px): the model's `image_size`. */
  maxSide: number;
  /** Largest accepted input (bytes). */
  maxBytes: number;
  /** JPEG quality of the re-encoded image (1-100). */
  quality?: number;
  /** false: always resize and re-encode, even a JPEG that fits (the bench's baseline). Default true. */
  passThrough?: boolean;
}

export interface PreparedImage {
  /** JPEG, longest side <= maxSide: re-encoded, or the input itself when it already fits. */
  jpeg: Buffer;
  width: number;
  height: number;
  format: ImageFormat;
  /** 64-bit dHash of the scene. */
  hash: bigint;
  /** True when `jpeg` is the input bytes, passed through without a re-encode. */
  passedThrough: boolean;
}

/**
 * An input JPEG passes through unchanged when it fits the model's size, needs no rotation, is
 * baseline 8-bit YCbCr/greyscale (what every decoder takes), and is no larger than this many
 * bytes per pixel (a re-encode would shrink a needlessly heavy file).
 */
const PASS_THROUGH_MAX_BYTES_PER_PIXEL = 1.5;

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
    const input = sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true });
    // sharp's metadata (orientation, colour space) only for a JPEG whose header says it fits:
    // larger snapshots, the usual case, pay nothing for the check
    const header = format === 'jpeg' && opts.passThrough !== false ? jpegSize(bytes) : undefined;
    if (header && !header.progressive && Math.max(header.width, header.height) <= opts.maxSide) {
      const meta = await input.metadata();
      if (fitsAsIs(meta, bytes.length, opts.maxSide)) {
        checkMinSide(meta.width ?? 0, meta.height ?? 0);
        return await passThrough(input, bytes, meta.width ?? 0, meta.height ?? 0);
      }
    }
    // One decode (failOn 'truncated': a cut-off JPEG is an error, not a grey bottom half;
    // JPEG shrink-on-load only from a 3x reduction, so 1280x720 for 448 px is a full decode)
    // to the small raw image, hashed in JS, then one encode. Huffman optimisation is off: it costs ~1.3 ms per snapshot to save a few KB
    // on loopback.
    // auto-orient only when the JPEG's EXIF does not already say upright (or the file is not
    // a JPEG): for an upright frame it changes no pixel and costs libvips ~0.3 ms
    const upright = format === 'jpeg' && jpegOrientation(bytes) === 1;
    const small = await (upright ? input : input.rotate())
      // linear, not lanczos3: after shrink-on-load the reduce left is under 2x, where a tent
      // filter is as good for a model's input and ~1 ms cheaper per snapshot
      .resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = small.info;
    checkMinSide(width, height); // withoutEnlargement: a tiny input stays tiny
    const encoding = sharp(small.data, { raw: { width, height, channels } }).jpeg({ quality: opts.quality ?? 85, optimiseCoding: false }).toBuffer();
    encoding.catch(() => undefined); // awaited below; never an unhandled rejection if hashing throws
    const hash = dHashFromRaw(small.data, width, height, channels); // while libvips encodes
    const jpeg = await encoding;
    return { jpeg, width, height, format, hash, passedThrough: false };
  } catch (err) {
    if (err instanceof InputError) throw err;
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new InputError(`cannot decode ${format.toUpperCase()} image: ${msg}`);
  }
}

/** A JPEG the model can take as it is (see PASS_THROUGH_MAX_BYTES_PER_PIXEL). */
function fitsAsIs(meta: Metadata, size: number, maxSide: number): boolean {
  const { width = 0, height = 0 } = meta;
  return (
    width > 0 && height > 0 && Math.max(width, height) <= maxSide &&
    (meta.orientation ?? 1) === 1 && !meta.isProgressive && (meta.space === 'srgb' || meta.space === 'b-w') &&
    size <= width * height * PASS_THROUGH_MAX_BYTES_PER_PIXEL
  );
}

/** Smallest side (px) a reduced decode keeps for the dHash: below it, cell edges drift bits. */
const HASH_MIN_SIDE = 128;

/**
 * The input goes to the model as it is: no resize, no re-encode. Still one strict decode (a
 * truncated JPEG fails here as in the resize path), but reduced by JPEG shrink-on-load (1/2,
 * 1/4 or 1/8, keeping the short side >= HASH_MIN_SIDE) and hashed from that: hashing a full
 * 1280x720 frame in JS costs ~3 ms, a 1/4 one a sixteenth of it, and its dHash stays within
 * 1-2 bits of the full-resolution one (measured on the bench scenes; dedup_distance is 4).
 */
async function passThrough(input: Sharp, bytes: Buffer, width: number, height: number): Promise<PreparedImage> {
  const factor = [8, 4, 2].find((f) => Math.min(width, height) / f >= HASH_MIN_SIDE) ?? 1;
  const reduced = factor === 1 ? input : input.resize({ width: Math.ceil(width / factor), height: Math.ceil(height / factor), fit: 'fill', kernel: 'linear' });
  const raw = await reduced.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { info } = raw;
  return { jpeg: bytes, width, height, format: 'jpeg', hash: dHashFromRaw(raw.data, info.width, info.height, info.channels), passedThrough: true };
}

/** "42 bytes of text" / "1024 bytes, starts 00 11 22 33" for error messages (never the content). */
function describeBytes(b: Buffer): string {
  const head = b.subarray(0, 64);
  const printable = head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
  if (printable) return `${b.length} bytes of text`;
  return `${b.length} bytes, starts ${[...b.subarray(0, 4)].map((c) => c.toString(16).padStart(2, '0')).join(' ')}`;
}
