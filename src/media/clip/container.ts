/** What kind of clip bytes we were given, from their first bytes (no extension to trust). */
export type ClipContainer = 'matroska' | 'mp4';

export function sniffContainer(buf: Buffer): ClipContainer | undefined {
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x1a45dfa3) return 'matroska'; // EBML: MKV, WebM
  if (buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp') return 'mp4'; // MP4, MOV, 3GP
  return undefined;
}

/**
 * True when an MP4's index (moov) comes before its media data (mdat): then ffmpeg can read it
 * from a pipe. Most recorders write moov last, which needs a seekable file instead.
 */
export function mp4IndexFirst(buf: Buffer): boolean {
  let pos = 0;
  while (pos + 8 <= buf.length) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    if (type === 'moov') return true;
    if (type === 'mdat' || type === 'moof') return false;
    if (size === 1) {
      if (pos + 16 > buf.length) return false;
      size = Number(buf.readBigUInt64BE(pos + 8));
    }
    if (size < 8) return false; // 0 = "to the end": no moov before it
    pos += size;
  }
  return false;
}
