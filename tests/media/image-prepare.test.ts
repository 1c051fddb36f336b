import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { dHashFromRaw, hammingDistance } from '../../src/media/image-hash.js';
import { prepareImage } from '../../src/media/image.js';
import { jpegSize } from '../../src/media/jpeg-header.js';
import { patternJpeg } from '../camera/helpers.js';

const opts = { maxSide: 448, maxBytes: 1 << 24 };

describe('prepareImage: a JPEG that already fits the model passes through without a re-encode', () => {
  it('hands the input bytes on as they are, hashed from its full decode when small', async () => {
    const small = await patternJpeg(7, 320, 240, 85);
    const p = await prepareImage(small, opts);
    expect(p).toMatchObject({ passedThrough: true, width: 320, height: 240, format: 'jpeg' });
    expect(p.jpeg).toBe(small);
    const full = await sharp(small).raw().toBuffer({ resolveWithObject: true });
    expect(p.hash).toBe(dHashFromRaw(full.data, full.info.width, full.info.height, full.info.channels));
    expect((await prepareImage(await patternJpeg(7, 640, 480, 85), opts)).passedThrough).toBe(false);
    expect(hammingDistance(p.hash, (await prepareImage(await patternJpeg(8, 320, 240, 85), opts)).hash)).toBeGreaterThan(10);
  });

  it('hashes a large frame from a reduced decode, within 2 bits of the full-resolution hash', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const frame = await patternJpeg(seed, 1280, 720, 80);
      const p = await prepareImage(frame, { maxSide: 1280, maxBytes: 1 << 24 });
      expect(p.passedThrough).toBe(true);
      const full = await sharp(frame).raw().toBuffer({ resolveWithObject: true });
      expect(hammingDistance(p.hash, dHashFromRaw(full.data, full.info.width, full.info.height, full.info.channels))).toBeLessThanOrEqual(2);
    }
    const truncated = await patternJpeg(9, 1280, 720, 80);
    await expect(prepareImage(truncated.subarray(0, truncated.length >> 1), { maxSide: 1280, maxBytes: 1 << 24 })).rejects.toThrow(/cannot decode JPEG/);
  });

  it('still decodes strictly: a truncated JPEG that fits is an InputError', async () => {
    const small = await patternJpeg(3, 320, 240, 85);
    const cut = small.subarray(0, Math.floor(small.length * 0.6));
    await expect(prepareImage(cut, opts)).rejects.toThrow(InputError);
    await expect(prepareImage(cut, opts)).rejects.toThrow(/cannot decode JPEG/);
  });

  it('re-encodes what a model may not take as it is: EXIF rotation, progressive, PNG, oversized files', async () => {
    const raw = await sharp(await patternJpeg(5, 320, 240, 85)).raw().toBuffer();
    const make = (s: Sharp) => s.toBuffer();
    const base = () => sharp(raw, { raw: { width: 320, height: 240, channels: 3 } });
    const rotated = await make(base().jpeg().withMetadata({ orientation: 6 }));
    const r = await prepareImage(rotated, opts);
    expect(r).toMatchObject({ passedThrough: false, width: 240, height: 320 }); // turned upright
    const progressive = await prepareImage(await make(base().jpeg({ progressive: true })), opts);
    expect(progressive.passedThrough).toBe(false);
    expect(jpegSize(progressive.jpeg)?.progressive).toBe(false);
    expect((await prepareImage(await make(base().png()), opts)).passedThrough).toBe(false);
    // a file heavier than 1.5 bytes per pixel (q100 4:4:4 of pure noise) is re-encoded smaller
    const noise = Buffer.from(Array.from({ length: 320 * 240 * 3 }, (_, i) => (i * 2654435761) >>> 24));
    const noisy = await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    expect(noisy.length).toBeGreaterThan(320 * 240 * 1.5);
    const heavy = await prepareImage(noisy, opts);
    expect(heavy.passedThrough).toBe(false);
    expect(heavy.jpeg.length).toBeLessThan(noisy.length);
  });
});

describe('jpegSize (frame header read in JS)', () => {
  it('agrees with libvips on baseline and progressive JPEGs, and gives up on anything else', async () => {
    for (const [w, h, progressive] of [[1280, 720, false], [17, 5, true], [640, 480, false]] as const) {
      const b = await sharp({ create: { width: w, height: h, channels: 3, background: { r: 1, g: 2, b: 3 } } }).jpeg({ progressive }).toBuffer();
      expect(jpegSize(b)).toEqual({ width: w, height: h, progressive });
    }
    expect(jpegSize(Buffer.from('not a jpeg'))).toBeUndefined();
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });
});
