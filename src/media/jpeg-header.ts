/**
 * A JPEG's header read in JS by walking its marker segments: a few dozen bytes looked at, no
 * libvips call. The camera path uses the frame size (to skip sharp's metadata call) and the
 * multimodal backend the frame's precision and components (to pass a camera JPEG as it is);
 * jpeg-exif.ts reads the orientation from the same walk.
 */

/** One marker segment: `marker` (the byte after 0xFF) at offset `at`; its payload is [at + 4, at + 2 + length). */
export interface JpegSegment {
  marker: number;
  at: number;
  length: number;
}

/** Start of scan: the last header segment; entropy-coded data follows it. */
export const SOS = 0xda;

/**
 * The marker segments before the scan data, in order, SOS last. Ends early, without SOS, at
 * anything that is not a well-formed header segment (not a JPEG, a stray byte, a marker with no
 * length field, a segment running past the end): callers then leave the file to the decoder,
 * which names the problem.
 */
export function* jpegSegments(b: Uint8Array): Generator<JpegSegment> {
  if (b[0] !== 0xff || b[1] !== 0xd8) return;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return;
    const marker = b[at + 1] ?? 0;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd9 || (marker >= 0xd0 && marker <= 0xd8) || marker === 0x01) return; // no length field: not a header
    const length = ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0);
    if (length < 2 || at + 2 + length > b.length) return;
    yield { marker, at, length };
    if (marker === SOS) return;
    at += 2 + length;
  }
}

export interface JpegFrame {
  /** n of SOFn: 0 baseline, 1 extended, 2 progressive, ... */
  sof: number;
  precision: number;
  width: number;
  height: number;
  components: number;
}

/** The frame header (SOFn); undefined when none comes before the scan. */
export function jpegFrame(b: Uint8Array): JpegFrame | undefined {
  for (const s of jpegSegments(b)) {
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range
    if (s.marker >= 0xc0 && s.marker <= 0xcf && s.marker !== 0xc4 && s.marker !== 0xc8 && s.marker !== 0xcc) {
      if (s.length < 8) return undefined;
      const u16 = (o: number) => ((b[s.at + o] ?? 0) << 8) | (b[s.at + o + 1] ?? 0);
      return { sof: s.marker - 0xc0, precision: b[s.at + 4] ?? 0, height: u16(5), width: u16(7), components: b[s.at + 9] ?? 0 };
    }
  }
  return undefined;
}

/** Width, height and whether the frame is progressive (SOF2, 6, 10, 14); undefined without a frame header. */
export function jpegSize(b: Uint8Array): { width: number; height: number; progressive: boolean } | undefined {
  const f = jpegFrame(b);
  return f && { width: f.width, height: f.height, progressive: f.sof === 2 || f.sof === 6 || f.sof === 10 || f.sof === 14 };
}
