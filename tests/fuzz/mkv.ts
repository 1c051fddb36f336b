/** A minimal EBML writer: the seed Matroska stream the fuzzer damages (ffmpeg is not needed). */

function idBytes(id: number): Buffer {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from(out);
}

/** One element: its id (marker included), an 8-byte size, its body. */
export function ebml(id: number, body: Buffer): Buffer {
  const size = Buffer.alloc(8);
  size[0] = 0x01;
  size.writeUIntBE(body.length, 2, 6);
  return Buffer.concat([idBytes(id), size, body]);
}

const uint = (id: number, v: number): Buffer => ebml(id, Buffer.from([v >> 8, v & 0xff]));
const str = (id: number, s: string): Buffer => ebml(id, Buffer.from(s, 'latin1'));
const f64 = (id: number, v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return ebml(id, b);
};
const block = (track: number, rel: number, data: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h[0] = 0x80 | track;
  h.writeInt16BE(rel, 1);
  h[3] = 0x80; // keyframe, no lacing
  return ebml(0xa3, Buffer.concat([h, data]));
};

/** EBML header, a live (unknown-size) Segment, a video and an audio track, one cluster of 3 blocks. */
export function tinyMkv(): Buffer {
  const header = ebml(0x1a45dfa3, str(0x4282, 'matroska'));
  const info = ebml(0x1549a966, ebml(0x2ad7b1, Buffer.from([0x0f, 0x42, 0x40])));
  const video = ebml(0xae, Buffer.concat([uint(0xd7, 1), uint(0x83, 1), str(0x86, 'V_MJPEG'), ebml(0xe0, Buffer.concat([uint(0xb0, 64), uint(0xba, 48)]))]));
  const audio = ebml(0xae, Buffer.concat([uint(0xd7, 2), uint(0x83, 2), str(0x86, 'A_PCM/INT/LIT'), ebml(0xe1, Buffer.concat([f64(0xb5, 16000), uint(0x9f, 1)]))]));
  const tracks = ebml(0x1654ae6b, Buffer.concat([video, audio]));
  const cluster = ebml(0x1f43b675, Buffer.concat([uint(0xe7, 0), block(1, 0, Buffer.from([0xff, 0xd8, 0xff])), block(2, 0, Buffer.alloc(32)), block(1, 40, Buffer.from([0xff, 0xd8, 0xff]))]));
  const segmentBody = Buffer.concat([info, tracks, cluster]);
  const segment = Buffer.concat([idBytes(0x18538067), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), segmentBody]);
  return Buffer.concat([header, segment]);
}
