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

/**
 * 64-bit dHash straight from raw pixels (1-4 channels, row-major): each of the 9x8 cells is
 * the mean luma (BT.601, integer) of the pixels it covers. Done in JS over the already
 * resized image, so hashing costs no second libvips pipeline. Images under 9x8 sample the
 * nearest pixel. It runs on the event loop for every snapshot (a 448x252 frame is 113 k
 * pixels), so the loop walks each row cell by cell with no per-pixel branch or lookup.
 */
export function dHashFromRaw(px: Uint8Array, width: number, height: number, channels: number): bigint {
  if (width < 1 || height < 1 || px.length < width * height * channels) throw new RangeError('raw image smaller than its size says');
  const sums = new Float64Array(72);
  const cols = new Uint32Array(9);
  const rows = new Uint32Array(8);
  // pixel column where each of the 9 cells starts (cell of x: floor(x * 9 / width))
  const colStart = new Uint32Array(10);
  for (let x = width - 1; x >= 0; x--) {
    const c = Math.floor((x * 9) / width);
    cols[c]!++;
    colStart[c] = x;
  }
  colStart[9] = width;
  for (let c = 8; c >= 0; c--) if (cols[c] === 0) colStart[c] = colStart[c + 1]!;
  for (let y = 0; y < height; y++) rows[Math.floor((y * 8) / height)]!++;
  const luma = channels >= 3;
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * 8) / height) * 9;
    const rowStart = y * width * channels;
    for (let cx = 0; cx < 9; cx++) {
      let acc = 0;
      const end = rowStart + colStart[cx + 1]! * channels;
      let o = rowStart + colStart[cx]! * channels;
      if (luma) for (; o < end; o += channels) acc += (px[o]! * 77 + px[o + 1]! * 150 + px[o + 2]! * 29) >> 8;
      else for (; o < end; o += channels) acc += px[o]!;
      sums[row + cx]! += acc;
    }
  }
  const grey = new Uint8Array(72);
  for (let cy = 0; cy < 8; cy++) {
    for (let cx = 0; cx < 9; cx++) {
      const i = cy * 9 + cx;
      const n = (rows[cy] ?? 0) * (cols[cx] ?? 0);
      if (n > 0) {
        grey[i] = Math.round((sums[i] ?? 0) / n);
      } else {
        // Smaller than 9x8: this cell covers no pixel, take the nearest one.
        const sx = Math.min(width - 1, Math.floor(((cx + 0.5) * width) / 9));
        const sy = Math.min(height - 1, Math.floor(((cy + 0.5) * height) / 8));
        const o = (sy * width + sx) * channels;
        grey[i] = luma ? ((px[o] ?? 0) * 77 + (px[o + 1] ?? 0) * 150 + (px[o + 2] ?? 0) * 29) >> 8 : (px[o] ?? 0);
      }
    }
  }
  return dHashFromGrey9x8(grey);
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
