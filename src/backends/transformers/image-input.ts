import { MAX_INPUT_PIXELS } from '../../media/image.js';
import { loadSharp } from '../../media/sharp.js';
import { errorMessage, InputError } from '../../core/errors.js';
import type { RgbImage } from './host-protocol.js';

/** Bigger payloads are refused before decoding (bytes). */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

/**
 * Decodes JPEG/PNG/WebP bytes to RGB pixels (what transformers.js's image processors take),
 * scaled down so the longest side is at most `maxSide` px (the processor resizes again to the
 * model's input; this bounds memory and time). Anything sharp cannot read is an InputError.
 */
export async function decodeImage(bytes: Buffer, maxSide: number, label: string): Promise<RgbImage> {
  const sharp = await loadSharp();
  if (bytes.length === 0) throw new InputError(`${label} is empty`);
  if (bytes.length > MAX_IMAGE_BYTES) {
    throw new InputError(`${label} is ${(bytes.length / 1_048_576).toFixed(1)} MB; the limit is ${MAX_IMAGE_BYTES / 1_048_576} MB`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .rotate() // honour EXIF orientation: cameras store portrait shots sideways
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    // A copy with its own buffer: it is transferred to the pipeline worker (a Buffer may be a
    // slice of Node's shared pool, which must never be detached).
    return { data: new Uint8ClampedArray(data), width: info.width, height: info.height };
  } catch (err) {
    throw new InputError(`${label} could not be decoded as an image (${errorMessage(err)}); send JPEG, PNG or WebP bytes`);
  }
}
