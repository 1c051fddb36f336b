import { describe, expect, it } from 'vitest';
import { dHashFromRaw, hammingDistance } from '../../src/media/image-hash.js';
import { prepareImage } from '../../src/media/image.js';
import { patternJpeg } from '../camera/helpers.js';

/** A raw image whose luma falls (or rises) from left to right. */
function gradient(width: number, height: number, channels: number, falling: boolean): Uint8Array {
  const px = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.round((falling ? width - 1 - x : x) * (255 / Math.max(1, width - 1)));
      px.fill(v, (y * width + x) * channels, (y * width + x + 1) * channels);
    }
  }
  return px;
}

/** The dHash by its definition, pixel by pixel: what the optimised loop must equal. */
function referenceDHash(px: Uint8Array, width: number, height: number, channels: number): bigint {
  const sums = new Array<number>(72).fill(0);
  const counts = new Array<number>(72).fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const v = channels >= 3 ? ((px[o] ?? 0) * 77 + (px[o + 1] ?? 0) * 150 + (px[o + 2] ?? 0) * 29) >> 8 : (px[o] ?? 0);
      const cell = Math.floor((y * 8) / height) * 9 + Math.floor((x * 9) / width);
      sums[cell] = (sums[cell] ?? 0) + v;
      counts[cell] = (counts[cell] ?? 0) + 1;
    }
  }
  let h = 0n;
  const grey = (i: number) => Math.round((sums[i] ?? 0) / (counts[i] ?? 1));
  for (let cy = 0; cy < 8; cy++) for (let cx = 0; cx < 8; cx++) h = (h << 1n) | (grey(cy * 9 + cx) > grey(cy * 9 + cx + 1) ? 1n : 0n);
  return h;
}

describe('dHashFromRaw', () => {
  it('equals the pixel-by-pixel definition on random images of many sizes and channel counts', () => {
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const sizes: [number, number][] = [[9, 8], [10, 9], [17, 13], [64, 48], [100, 61], [448, 252], [251, 448], [1000, 9]];
    for (const [w, h] of sizes) {
      for (const ch of [1, 3, 4]) {
        // blocks of noise, so neighbouring cells differ and every bit is exercised
        const px = new Uint8Array(w * h * ch).map((_, i) => (rnd() + ((i / ch) % w < w / 2 ? 60 : 0)) & 0xff);
        expect(dHashFromRaw(px, w, h, ch), `${w}x${h}x${ch}`).toBe(referenceDHash(px, w, h, ch));
      }
    }
  });

  it('sets every bit for a scene that darkens left to right, none when it brightens', () => {
    expect(dHashFromRaw(gradient(448, 252, 3, true), 448, 252, 3)).toBe(2n ** 64n - 1n);
    expect(dHashFromRaw(gradient(448, 252, 3, false), 448, 252, 3)).toBe(0n);
  });

  it('gives a grey image the hash of the same picture in RGB', () => {
    expect(dHashFromRaw(gradient(100, 60, 1, true), 100, 60, 1)).toBe(dHashFromRaw(gradient(100, 60, 3, true), 100, 60, 3));
  });

  it('hashes images smaller than 9x8 from their nearest pixels', () => {
    expect(dHashFromRaw(gradient(3, 2, 3, true), 3, 2, 3)).toBe(dHashFromRaw(gradient(3, 2, 3, true), 3, 2, 3));
    expect(hammingDistance(dHashFromRaw(gradient(3, 2, 3, true), 3, 2, 3), 0n)).toBeGreaterThan(0);
  });

  it('refuses a buffer shorter than its size says', () => {
    expect(() => dHashFromRaw(new Uint8Array(10), 4, 4, 3)).toThrow(RangeError);
  });

  it('keeps a scene re-encoded at another quality within 2 bits, and tells other scenes apart', async () => {
    const hash = async (seed: number, q: number) => (await prepareImage(await patternJpeg(seed, 640, 360, q), { maxSide: 448, maxBytes: 1 << 24 })).hash;
    const a = await hash(7, 90);
    expect(hammingDistance(a, await hash(7, 55))).toBeLessThanOrEqual(2);
    expect(hammingDistance(a, await hash(8, 90))).toBeGreaterThan(10);
  });
});
