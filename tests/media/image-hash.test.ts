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

describe('dHashFromRaw', () => {
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
