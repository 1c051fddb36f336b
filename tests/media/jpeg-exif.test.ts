import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { dHashFromRaw } from '../../src/media/image-hash.js';
import { prepareImage } from '../../src/media/image.js';
import { jpegOrientation } from '../../src/media/jpeg-exif.js';
import { patternJpeg } from '../camera/helpers.js';

/** An APP1 Exif segment whose IFD0 holds `entries` (tag, type, count, value), in either byte order. */
function exifSegment(order: 'II' | 'MM', entries: [number, number, number, number][]): Buffer {
  const tiff = Buffer.alloc(8 + 2 + entries.length * 12 + 4);
  const le = order === 'II';
  const u16 = (v: number, at: number) => (le ? tiff.writeUInt16LE(v, at) : tiff.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (le ? tiff.writeUInt32LE(v, at) : tiff.writeUInt32BE(v, at));
  tiff.write(order, 0, 'latin1');
  u16(42, 2);
  u32(8, 4);
  u16(entries.length, 8);
  entries.forEach(([tag, type, count, value], e) => {
    const at = 10 + e * 12;
    u16(tag, at);
    u16(type, at + 2);
    u32(count, at + 4);
    u16(value, at + 8); // a SHORT sits in the first two value bytes
  });
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** `jpeg` with `segments` inserted right after SOI. */
const withSegments = (jpeg: Buffer, ...segments: Buffer[]) => Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);

describe('jpegOrientation (EXIF read in JS)', () => {
  it('agrees with libvips on every orientation sharp writes, and on a file without EXIF', async () => {
    const base = await patternJpeg(3, 64, 48, 85);
    expect(jpegOrientation(base)).toBe(1); // no Exif segment: libvips says upright too (no orientation)
    expect((await sharp(base).metadata()).orientation ?? 1).toBe(1);
    for (let o = 1; o <= 8; o++) {
      const b = await sharp(base).withMetadata({ orientation: o }).jpeg().toBuffer();
      expect(jpegOrientation(b)).toBe(o);
      expect((await sharp(b).metadata()).orientation).toBe(o);
    }
  });

  it('reads big-endian (MM) TIFF headers as libvips does', async () => {
    const base = await patternJpeg(4, 64, 48, 85);
    for (const order of ['II', 'MM'] as const) {
      const b = withSegments(base, exifSegment(order, [[0x010f, 2, 1, 0], [0x0112, 3, 1, 6]]));
      expect(jpegOrientation(b)).toBe(6);
      expect((await sharp(b).metadata()).orientation).toBe(6);
    }
  });

  it('says it cannot tell (undefined) rather than guess upright', async () => {
    const base = await patternJpeg(5, 64, 48, 85);
    // no orientation in IFD0: libexif would search the other IFDs
    expect(jpegOrientation(withSegments(base, exifSegment('II', [[0x010f, 2, 1, 0]])))).toBeUndefined();
    // two Exif segments
    const one = exifSegment('II', [[0x0112, 3, 1, 1]]);
    expect(jpegOrientation(withSegments(base, one))).toBe(1);
    expect(jpegOrientation(withSegments(base, one, one))).toBeUndefined();
    // a value outside 1-8, a value of the wrong type, a cut-off segment, not a JPEG
    expect(jpegOrientation(withSegments(base, exifSegment('II', [[0x0112, 3, 1, 9]])))).toBeUndefined();
    expect(jpegOrientation(withSegments(base, exifSegment('II', [[0x0112, 4, 1, 6]])))).toBeUndefined();
    expect(jpegOrientation(withSegments(base, one).subarray(0, 20))).toBeUndefined();
    expect(jpegOrientation(Buffer.from('not a jpeg'))).toBeUndefined();
  });
});

describe('prepareImage turns every orientation upright, with or without the auto-orient step', () => {
  it('gives the size and scene hash of libvips auto-orient for orientations 1-8', async () => {
    const base = await patternJpeg(6, 1280, 720, 80);
    for (let o = 1; o <= 8; o++) {
      const b = await sharp(base).withMetadata({ orientation: o }).jpeg({ quality: 80 }).toBuffer();
      const p = await prepareImage(b, { maxSide: 448, maxBytes: 1 << 24 });
      const ref = await sharp(b).rotate().resize({ width: 448, height: 448, fit: 'inside', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
      expect([p.width, p.height]).toEqual([ref.info.width, ref.info.height]);
      expect(p.hash).toBe(dHashFromRaw(ref.data, ref.info.width, ref.info.height, ref.info.channels));
    }
  });
});
