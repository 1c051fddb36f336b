/**
 * A reader for the Matroska stream our own ffmpeg command writes (see buildClipArgs): the
 * tracks and their blocks, nothing more. ffmpeg writes a live (unknown-size) Segment to a
 * pipe and never laces blocks; both are handled/checked. Not a general Matroska demuxer.
 */

export interface MkvTrack {
  number: number;
  /** 1 video, 2 audio (Matroska TrackType). */
  type: number;
  codecId: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

export interface MkvBlock {
  track: number;
  /** Presentation time (ms) from the cluster and block timecodes. */
  timeMs: number;
  data: Buffer;
}

export interface MkvContents {
  tracks: MkvTrack[];
  blocks: MkvBlock[];
}

export class MatroskaError extends Error {
  override readonly name: string = 'MatroskaError';
}

const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
} as const;

/** Elements we descend into; everything else is skipped by its size. */
const MASTERS = new Set<number>([ID.Segment, ID.Info, ID.Tracks, ID.TrackEntry, ID.Video, ID.Audio, ID.Cluster, ID.BlockGroup]);

interface Vint {
  value: number;
  length: number;
  unknown: boolean;
}

function readVint(buf: Buffer, pos: number, keepMarker: boolean): Vint {
  const first = buf[pos];
  if (first === undefined || first === 0) throw new MatroskaError(`bad EBML number at byte ${pos}`);
  const length = Math.clz32(first) - 23; // 1..8
  if (pos + length > buf.length) throw new MatroskaError('truncated EBML number');
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = (first & (0xff >> length)) === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const b = buf[pos + i] ?? 0;
    value = value * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function readUint(buf: Buffer, start: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + (buf[start + i] ?? 0);
  return v;
}

function readFloat(buf: Buffer, start: number, size: number): number {
  if (size === 4) return buf.readFloatBE(start);
  if (size === 8) return buf.readDoubleBE(start);
  throw new MatroskaError(`bad float size ${size}`);
}

/** Parses a complete Matroska buffer into tracks and blocks (times in ms). */
export function readMatroska(buf: Buffer): MkvContents {
  const tracks: MkvTrack[] = [];
  const blocks: MkvBlock[] = [];
  let timecodeScaleNs = 1_000_000;
  let clusterTime = 0;
  let track: MkvTrack | undefined;

  const walk = (start: number, end: number): void => {
    let pos = start;
    while (pos < end) {
      // ffmpeg may stop mid-element when killed at the clip's end: keep what is complete
      if (end - pos < 2) return;
      const id = readVint(buf, pos, true);
      const size = readVint(buf, pos + id.length, false);
      const dataStart = pos + id.length + size.length;
      const dataEnd = size.unknown ? end : dataStart + size.value;
      if (dataEnd > buf.length) return;
      if (id.value === ID.TrackEntry) {
        track = { number: 0, type: 0, codecId: '' };
        walk(dataStart, dataEnd);
        tracks.push(track);
        track = undefined;
      } else if (MASTERS.has(id.value)) {
        walk(dataStart, dataEnd);
      } else {
        leaf(id.value, dataStart, dataEnd - dataStart);
      }
      pos = dataEnd;
    }
  };

  const leaf = (id: number, start: number, size: number): void => {
    switch (id) {
      case ID.TimecodeScale:
        timecodeScaleNs = readUint(buf, start, size);
        break;
      case ID.Timecode:
        clusterTime = readUint(buf, start, size);
        break;
      case ID.TrackNumber:
        if (track) track.number = readUint(buf, start, size);
        break;
      case ID.TrackType:
        if (track) track.type = readUint(buf, start, size);
        break;
      case ID.CodecID:
        if (track) track.codecId = buf.toString('latin1', start, start + size).replace(/\0+$/, '');
        break;
      case ID.PixelWidth:
        if (track) track.width = readUint(buf, start, size);
        break;
      case ID.PixelHeight:
        if (track) track.height = readUint(buf, start, size);
        break;
      case ID.SamplingFrequency:
        if (track) track.sampleRate = readFloat(buf, start, size);
        break;
      case ID.Channels:
        if (track) track.channels = readUint(buf, start, size);
        break;
      case ID.SimpleBlock:
      case ID.Block: {
        if (size < 4) throw new MatroskaError(`Matroska block of ${size} bytes is shorter than its header`);
        const num = readVint(buf, start, false);
        // a track number may be up to 8 bytes: the 2-byte time and the flags must still fit
        if (num.length + 3 > size) throw new MatroskaError(`Matroska block of ${size} bytes is shorter than its header`);
        const rel = buf.readInt16BE(start + num.length);
        const flags = buf[start + num.length + 2] ?? 0;
        if ((flags & 0x06) !== 0) throw new MatroskaError('laced Matroska blocks are not expected from ffmpeg');
        const dataStart = start + num.length + 3;
        blocks.push({
          track: num.value,
          timeMs: ((clusterTime + rel) * timecodeScaleNs) / 1e6,
          data: buf.subarray(dataStart, start + size),
        });
        break;
      }
      default:
        break;
    }
  };

  if (buf.length < 4 || buf.readUInt32BE(0) !== ID.EBML) throw new MatroskaError('not a Matroska stream');
  walk(0, buf.length);
  return { tracks, blocks };
}
