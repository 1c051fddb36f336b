/**
 * Perceptual hashes of a scene, for "nothing changed" checks. dHash: a 9x8 greyscale thumbnail,
 * one bit per horizontal neighbour pair (left brighter than right). Robust to JPEG noise and
 * small exposure drift, cheap (one 72-pixel resize), and compared by Hamming distance.
 */

/** 64-bit dHash from 9x8 greyscale raw pixels (72 bytes, row-major). */
export function dHashFromGrey9x8(px: Uint8Array): bigint {
  if (px.length < 72) throw new RangeError(`dHash needs 72 grey pixels, got ${px.length}`);
  let h = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const l = px[y * 9 + x] ?? 0;
      const r = px[y * 9 + x + 1] ?? 0;
      h = (h << 1n) | (l > r ? 1n : 0n);
    }
  }
  return h;
}

/** Number of differing bits (0..64). */
export function hammingDistance(a: bigint, b: bigint): number {
  let x = a ^ b;
  let n = 0;
  while (x) {
    x &= x - 1n;
    n++;
  }
  return n;
}
