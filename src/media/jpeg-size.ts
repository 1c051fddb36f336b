/**
 * Width and height from a JPEG's frame header (SOFn), read in JS by walking the marker
 * segments: a few dozen bytes looked at, no libvips call. Lets the camera path skip asking
 * sharp for metadata when the image is larger than the model's size anyway. Undefined when no
 * frame header is found before the scan data (a malformed file: the decoder will say why).
 */
export function jpegSize(b: Uint8Array): { width: number; height: number; progressive: boolean } | undefined {
  if (b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = ((b[i + 5] ?? 0) << 8) | (b[i + 6] ?? 0);
      const width = ((b[i + 7] ?? 0) << 8) | (b[i + 8] ?? 0);
      return { width, height, progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data or end before any frame header
    const length = ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
    if (length < 2) return undefined;
    i += 2 + length;
  }
  return undefined;
}
