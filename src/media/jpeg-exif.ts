import { jpegSegments, SOS } from './jpeg-header.js';

/**
 * A JPEG's EXIF orientation (tag 0x0112 in IFD0), read in JS from the APP1 "Exif" segment
 * among the markers before the scan (the ones libjpeg hands libvips): lets the camera path
 * skip sharp's auto-orient step (~0.3 ms of libvips time per 1280x720 snapshot) for the usual
 * upright snapshot.
 *
 * 1 when the file has no Exif segment (libvips reads it as upright); the tag's value when
 * IFD0 has it; undefined whenever it cannot be sure: malformed markers or TIFF header, more
 * than one Exif segment, no orientation in IFD0 (libexif would look in the other IFDs too),
 * a value outside 1-8. The caller then lets libvips decide.
 */
export function jpegOrientation(b: Uint8Array): number | undefined {
  let orientation: number | undefined = 1;
  let exifSegments = 0;
  for (const { marker, at, length } of jpegSegments(b)) {
    // the scan: libjpeg has read every marker it saves for libvips
    if (marker === SOS) return exifSegments <= 1 ? orientation : undefined;
    // libvips takes any APP1 that starts "Exif" as EXIF data
    if (marker === 0xe1 && b[at + 4] === 0x45 && b[at + 5] === 0x78 && b[at + 6] === 0x69 && b[at + 7] === 0x66) {
      exifSegments++;
      orientation = b[at + 8] === 0 && b[at + 9] === 0 ? ifd0Orientation(b, at + 10, at + 2 + length) : undefined;
    }
  }
  return undefined; // no scan after well-formed headers
}

/** The orientation in IFD0 of the TIFF structure at [tiff, end); undefined when absent or malformed. */
function ifd0Orientation(b: Uint8Array, tiff: number, end: number): number | undefined {
  if (tiff + 8 > end) return undefined;
  const little = b[tiff] === 0x49 && b[tiff + 1] === 0x49; // "II"
  if (!little && !(b[tiff] === 0x4d && b[tiff + 1] === 0x4d)) return undefined; // nor "MM"
  const u16 = (o: number) => (little ? (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) : ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0));
  const u32 = (o: number) => (little ? u16(o) + u16(o + 2) * 0x10000 : u16(o) * 0x10000 + u16(o + 2));
  if (u16(tiff + 2) !== 42) return undefined;
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return undefined;
  const count = u16(ifd);
  if (ifd + 2 + count * 12 > end) return undefined;
  for (let e = 0; e < count; e++) {
    const entry = ifd + 2 + e * 12;
    if (u16(entry) !== 0x0112) continue;
    // type SHORT (3), count 1: the value sits in the entry's first two value bytes
    if (u16(entry + 2) !== 3 || u32(entry + 4) !== 1) return undefined;
    const v = u16(entry + 8);
    return v >= 1 && v <= 8 ? v : undefined;
  }
  return undefined;
}
