/**
 * Property-based fuzzing (fast-check) of every parser that reads bytes from outside: each
 * either returns or throws its own named error, never a TypeError/RangeError, and never hangs.
 * Inputs are both random bytes and valid inputs with bytes flipped, inserted and cut (which
 * reach far deeper than random bytes). CI: a fixed seed and a bounded number of runs; a longer
 * run with a random seed: `npx tsx bench/fuzz.ts --runs 20000` (prints the seed to replay).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { configFromObject, parseYaml } from '../../src/config/load.js';
import { InputError } from '../../src/core/errors.js';
import { readWav, wavFromPcm16 } from '../../src/media/audio/index.js';
import { MatroskaError, readMatroska } from '../../src/media/clip/matroska.js';
import { sniffImage } from '../../src/media/image-magic.js';
import { jpegOrientation } from '../../src/media/jpeg-exif.js';
import { jpegSegments, jpegSize } from '../../src/media/jpeg-header.js';
import { GgufPreflightError, preflightGguf } from '../../src/models/gguf-preflight.js';
import { parseAskPayload } from '../../src/sources/ask.js';
import { parseFrigateEvent, parseFrigateReview } from '../../src/sources/frigate/payloads.js';
import { encodeEvent, WyomingDecoder, WyomingProtocolError } from '../../src/wyoming/framing.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ebml, tinyMkv } from './mkv.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261129);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const params = (runs = RUNS): fc.Parameters<unknown> => ({ seed: SEED, numRuns: runs, endOnFailure: true });

/** Runs `parse`; a throw must be one of `allowed` (the parser's own, named errors). */
function survives(parse: () => unknown, ...allowed: (abstract new (...a: never[]) => Error)[]): void {
  try {
    parse();
  } catch (err) {
    if (!allowed.some((c) => err instanceof c)) throw err;
  }
}

/** A valid input with random damage: bytes overwritten, cut short, or junk inserted. */
function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  const flip = fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((edits) => {
    const b = Buffer.from(valid);
    for (const [i, v] of edits) b[i] = v;
    return b;
  });
  const cut = fc.nat(valid.length).map((n) => valid.subarray(0, n));
  const insert = fc.tuple(fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([i, junk]) => Buffer.concat([valid.subarray(0, i), Buffer.from(junk), valid.subarray(i)]));
  // a 32-bit length field set to a huge or zero value: where parsers trust sizes
  const size = fc.tuple(fc.nat(Math.max(0, valid.length - 4)), fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, valid.length)).map(([i, v]) => {
    const b = Buffer.from(valid);
    b.writeUInt32LE(v >>> 0, Math.min(i, b.length - 4));
    return b;
  });
  return fc.oneof(flip, cut, insert, size);
}
const bytes = fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a));

describe('fuzz: WAV reader', () => {
  const pcm = Buffer.alloc(3200);
  for (let i = 0; i < 1600; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), i * 2);
  const valid = wavFromPcm16(pcm, 16_000, 1);
  it('returns audio or an InputError for any bytes and any damaged WAV', () => {
    fc.assert(fc.property(fc.oneof(bytes, mutated(valid)), (b) => survives(() => readWav(b, { maxSeconds: 30 }), InputError)), params());
  });
});

describe('fuzz: Wyoming framing', () => {
  const frames = Buffer.concat([
    encodeEvent('audio-start', { rate: 16000, width: 2, channels: 1 }),
    encodeEvent('audio-chunk', { rate: 16000, width: 2, channels: 1 }, Buffer.alloc(64, 7)),
    encodeEvent('transcribe', { language: 'en' }),
    encodeEvent('audio-stop'),
  ]);
  it('decodes valid frames split anywhere into the same events', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(frames.length), { maxLength: 6 }), (cuts) => {
        const at = [...new Set(cuts)].sort((a, b) => a - b);
        const d = new WyomingDecoder();
        const got = [];
        let last = 0;
        for (const c of [...at, frames.length]) {
          got.push(...d.push(frames.subarray(last, c)));
          last = c;
        }
        expect(got.map((e) => e.type)).toEqual(['audio-start', 'audio-chunk', 'transcribe', 'audio-stop']);
        expect(got[1]?.payload?.length).toBe(64);
      }),
      params(),
    );
  });
  it('returns events or a WyomingProtocolError for any bytes and any damaged stream', () => {
    fc.assert(
      fc.property(fc.oneof(bytes, mutated(frames)), fc.nat(64), (b, split) => {
        const d = new WyomingDecoder({ maxHeaderBytes: 4096, maxDataBytes: 65_536, maxPayloadBytes: 65_536 });
        survives(() => {
          d.push(b.subarray(0, split));
          d.push(b.subarray(split));
        }, WyomingProtocolError);
      }),
      params(),
    );
  });
});

describe('fuzz: Matroska reader', () => {
  const valid = tinyMkv();
  it('reads the seed clip (the mutations start from a real stream)', () => {
    const mkv = readMatroska(valid);
    expect(mkv.tracks.map((t) => t.codecId)).toEqual(['V_MJPEG', 'A_PCM/INT/LIT']);
    expect(mkv.blocks).toHaveLength(3);
  });
  // found by this fuzzer (seed 22177): a block shorter than its 4-byte header at the end of
  // the stream read past the buffer (RangeError) instead of a MatroskaError
  it('refuses a block shorter than its header with a MatroskaError', () => {
    const crash = Buffer.from([26, 69, 223, 163, 1, 0, 0, 0, 0, 0, 0, 7, 239, 73, 142, 153, 14, 98, 225, 174, 1, 0, 0, 0, 0, 0, 0, 3, 141, 214, 235, 31, 67, 182, 117, 1, 0, 0, 0, 0, 0, 0, 1, 30, 161, 1, 0, 0, 0, 0, 0, 0, 3, 94, 34, 212]);
    expect(() => readMatroska(crash)).toThrow(MatroskaError);
    expect(() => readMatroska(Buffer.concat([tinyMkv(), ebml(0x1f43b675, ebml(0xa3, Buffer.from([0x81])))]))).toThrow(/shorter than its header/);
  });
  it('returns contents or a MatroskaError for any bytes and any damaged clip', () => {
    const ebmlish = fc.array(fc.tuple(fc.constantFrom(0x1a45dfa3, 0x18538067, 0x1654ae6b, 0xae, 0x1f43b675, 0xa3, 0xa0, 0xa1, 0xe7, 0xb5, 0x2ad7b1), fc.uint8Array({ maxLength: 24 })), { maxLength: 8 }).map((els) => Buffer.concat(els.map(([id, body]) => ebml(id, Buffer.from(body)))));
    fc.assert(fc.property(fc.oneof(bytes, mutated(valid), ebmlish), (b) => survives(() => readMatroska(b), MatroskaError)), params());
  });
});

describe('fuzz: image sniffing', () => {
  it('never throws, and names a format only for its magic bytes', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const f = sniffImage(b);
        if (f === 'jpeg') expect(b.subarray(0, 2).toString('hex')).toBe('ffd8');
        if (f === 'png') expect(b.subarray(0, 4).toString('hex')).toBe('89504e47');
        if (f === 'webp') expect(b.subarray(8, 12).toString('latin1')).toBe('WEBP');
      }),
      params(),
    );
  });
});

describe('fuzz: JPEG header reader (frame size, EXIF orientation)', () => {
  let valid: Buffer;
  beforeAll(async () => {
    const sharp = (await import('sharp')).default;
    // an EXIF segment (orientation 6) and a progressive frame: the walk has segments to cross
    valid = await sharp({ create: { width: 40, height: 24, channels: 3, background: '#3a7' } }).jpeg({ progressive: true }).withMetadata({ orientation: 6 }).toBuffer();
  });

  it('reads the seed JPEG (the mutations start from a real file)', () => {
    expect(jpegSize(valid)).toEqual({ width: 40, height: 24, progressive: true });
    expect(jpegOrientation(valid)).toBe(6);
  });

  it('never throws; every segment lies inside the bytes, and a size or orientation comes only from a frame or IFD0', () => {
    const jpegish = fc.array(fc.tuple(fc.integer({ min: 0xc0, max: 0xfe }), fc.uint8Array({ maxLength: 24 })), { maxLength: 6 }).map((segs) =>
      Buffer.concat([Buffer.from([0xff, 0xd8]), ...segs.map(([m, body]) => Buffer.concat([Buffer.from([0xff, m, (body.length + 2) >> 8, (body.length + 2) & 0xff]), Buffer.from(body)]))]),
    );
    fc.assert(
      fc.property(fc.oneof(bytes, mutated(valid), jpegish), (b) => {
        for (const s of jpegSegments(b)) expect(s.at + 2 + s.length).toBeLessThanOrEqual(b.length);
        const size = jpegSize(b);
        if (size) expect(b.subarray(0, 2).toString('hex')).toBe('ffd8');
        const o = jpegOrientation(b);
        if (o !== undefined) expect(o >= 1 && o <= 8).toBe(true);
      }),
      params(),
    );
  });
});

describe('fuzz: GGUF preflight', () => {
  const tmp = tempModelDir('sarai-fuzz-gguf-');
  let valid: Buffer;
  beforeAll(async () => {
    const { readFileSync } = await import('node:fs');
    valid = readFileSync(tinyLlamaFile(path.join(tmp.dir, 'good.gguf')));
  });
  afterAll(() => tmp.cleanup());
  it('summarizes or refuses with GgufPreflightError any damaged model file', () => {
    const file = path.join(tmp.dir, 'fuzzed.gguf');
    fc.assert(
      fc.property(fc.oneof(mutated(valid), bytes.map((b) => Buffer.concat([Buffer.from('GGUF\x03\0\0\0'), b]))), (b) => {
        writeFileSync(file, b);
        survives(() => preflightGguf(file), GgufPreflightError);
      }),
      params(Math.min(RUNS, 200)),
    );
  });
});

describe('fuzz: Frigate and ask JSON', () => {
  const event = JSON.stringify({ type: 'new', before: {}, after: { id: '1700000000.1-abc', camera: 'front', label: 'person', has_snapshot: true, current_zones: ['porch'], entered_zones: [] } });
  const review = JSON.stringify({ type: 'end', before: {}, after: { id: 'r1', camera: 'front', severity: 'alert', data: { detections: ['1700000000.1-abc'], objects: ['person'], zones: [] } } });
  const jsonish = fc.oneof(fc.json().map((j) => Buffer.from(j)), fc.anything().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')), mutated(Buffer.from(event)), mutated(Buffer.from(review)), bytes);
  it('parses or refuses with InputError any frigate/events or frigate/reviews payload', () => {
    fc.assert(
      fc.property(jsonish, (b) => {
        survives(() => parseFrigateEvent(b, 'frigate/events'), InputError);
        survives(() => parseFrigateReview(b, 'frigate/reviews'), InputError);
      }),
      params(),
    );
  });
  it('parses or refuses with InputError any sarai/ask payload', () => {
    fc.assert(fc.property(fc.oneof(jsonish, fc.string().map((s) => Buffer.from(s))), (b) => survives(() => parseAskPayload(b), InputError)), params());
  });
});

describe('fuzz: config loader', () => {
  const valid = 'mqtt:\n  url: mqtt://127.0.0.1:1883\n  base_topic: sarai\ncameras:\n  front: { cooldown_s: 30, name: Front }\nlog: { level: info }\n';
  it('loads or refuses with ConfigError any YAML text and any object', () => {
    const text = fc.oneof(fc.string({ maxLength: 300 }), mutated(Buffer.from(valid)).map((b) => b.toString('latin1')));
    fc.assert(fc.property(text, (t) => survives(() => configFromObject(parseYaml(t, 'fuzz.yaml'), 'fuzz.yaml'), ConfigError)), params());
    const objects = fc.dictionary(fc.constantFrom('mqtt', 'http', 'cameras', 'models', 'log', 'scheduler', 'router', 'voice', 'x'), fc.anything({ maxDepth: 3 }));
    fc.assert(fc.property(objects, (o) => survives(() => configFromObject(o, 'fuzz'), ConfigError)), params());
  });
});

describe('fuzz: HTTP routes and query strings on a running bridge', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ mqtt: { embedded: { port: 0 } } });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
  });
  it('answers every request with a status below 500, and keeps answering', async () => {
    const base = `http://127.0.0.1:${app.app.ctx.http.port}`;
    const segment = fc.oneof(fc.constantFrom('api', 'ui', 'events', 'system', 'voice', 'stream', 'metrics', 'healthz', 'ask', 'describe', 'transcribe', '..', '%2e%2e', '%00', 'app.js', ''), fc.webSegment());
    const query = fc.array(fc.tuple(fc.constantFrom('limit', 'before', 'camera', 'satellite', 'token', 'q', 'offset', 'since', 'id'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('-1', '1e309', 'NaN', '99999999999999999999', '%ff', '%', '[]'))), { maxLength: 4 });
    const req = fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'), fc.array(segment, { minLength: 1, maxLength: 4 }), query, fc.uint8Array({ maxLength: 64 }));
    await fc.assert(
      fc.asyncProperty(req, async ([method, segs, q, body]) => {
        const qs = q.map(([k, v]) => `${k}=${v}`).join('&');
        const url = `${base}/${segs.join('/')}${qs ? `?${qs}` : ''}`;
        if (segs.includes('stream')) return; // the live event stream stays open by design
        const res = await fetch(url, { method, ...(method === 'POST' || method === 'PUT' ? { body: Buffer.from(body) } : {}), signal: AbortSignal.timeout(20_000) });
        await res.arrayBuffer();
        expect(res.status, `${method} ${url}`).toBeLessThan(500);
      }),
      params(Math.min(RUNS, 150)),
    );
    expect((await fetch(`${base}/healthz`)).status).toBeLessThan(600);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  }, 120_000);
});
