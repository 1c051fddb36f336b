import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { decodePcm, readWav, resample, toSpeechAudio, writeWav16, wavFromPcm16 } from '../../src/media/audio/index.js';
import { requireProgram } from '../helpers/require-program.js';
import { claimedDurationS, espeakWav, ffprobe } from '../voice/helpers.js';

const haveEspeak = requireProgram('espeak-ng');
const haveFfprobe = requireProgram('ffprobe');

/** A WAV by hand: any tag/width/rate/channels, optional EXTENSIBLE fmt and extra chunks. */
function wav(o: { tag?: number; bits: number; rate: number; channels: number; data: Buffer; extensible?: boolean; dataSize?: number; byteRate?: number; extraChunk?: boolean }): Buffer {
  const block = (o.bits / 8) * o.channels;
  const fmt = Buffer.alloc(o.extensible ? 40 : 16);
  fmt.writeUInt16LE(o.extensible ? 0xfffe : (o.tag ?? 1), 0);
  fmt.writeUInt16LE(o.channels, 2);
  fmt.writeUInt32LE(o.rate, 4);
  fmt.writeUInt32LE(o.byteRate ?? o.rate * block, 8);
  fmt.writeUInt16LE(block, 12);
  fmt.writeUInt16LE(o.bits, 14);
  if (o.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(o.bits, 18);
    fmt.writeUInt32LE(0x3, 20);
    fmt.writeUInt16LE(o.tag ?? 1, 24); // sub-format GUID starts with the format tag
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(fmt, 26);
  }
  const chunk = (id: string, body: Buffer, size = body.length) => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(size, 4);
    return Buffer.concat([h, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const parts = [chunk('fmt ', fmt)];
  if (o.extraChunk) parts.push(chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00test\x00', 'latin1')));
  parts.push(chunk('data', o.data, o.dataSize));
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length + 4, 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, body]);
}

const QUARTER = [0, 0.25, -0.25, 0.5, -0.5];

describe('WAV reader', () => {
  it('reads 8-bit unsigned, 16/24/32-bit signed and float32 PCM to the same samples', () => {
    const u8 = Buffer.from(QUARTER.map((v) => Math.round(v * 128 + 128)));
    const s16 = Buffer.alloc(10);
    QUARTER.forEach((v, i) => s16.writeInt16LE(Math.round(v * 32768), i * 2));
    const s24 = Buffer.alloc(15);
    QUARTER.forEach((v, i) => s24.writeIntLE(Math.round(v * 8388608), i * 3, 3));
    const s32 = Buffer.alloc(20);
    QUARTER.forEach((v, i) => s32.writeInt32LE(Math.round(v * 2147483648), i * 4));
    const f32 = Buffer.alloc(20);
    QUARTER.forEach((v, i) => f32.writeFloatLE(v, i * 4));
    for (const [bits, data, tag] of [[8, u8, 1], [16, s16, 1], [24, s24, 1], [32, s32, 1], [32, f32, 3]] as const) {
      const w = readWav(wav({ bits, rate: 8000, channels: 1, data, tag }));
      expect(w.format).toMatchObject({ rate: 8000, channels: 1, width: bits / 8, float: tag === 3 });
      expect([...w.samples].map((v) => Math.round(v * 100) / 100)).toEqual(QUARTER);
    }
  });

  it('reads WAVE_FORMAT_EXTENSIBLE (PCM and float), stereo at 48 kHz, and skips unknown chunks', () => {
    const stereo = Buffer.alloc(8);
    stereo.writeInt16LE(16384, 0);
    stereo.writeInt16LE(-16384, 2);
    stereo.writeInt16LE(8192, 4);
    stereo.writeInt16LE(8192, 6);
    const w = readWav(wav({ bits: 16, rate: 48000, channels: 2, data: stereo, extensible: true, extraChunk: true }));
    expect(w.format).toMatchObject({ rate: 48000, channels: 2, width: 2 });
    expect([...w.samples]).toEqual([0.5, -0.5, 0.25, 0.25]);
    const f = Buffer.alloc(8);
    f.writeFloatLE(0.75, 0);
    f.writeFloatLE(-0.75, 4);
    expect([...readWav(wav({ bits: 32, rate: 16000, channels: 1, data: f, extensible: true, tag: 3 })).samples]).toEqual([0.75, -0.75]);
  });

  it('rejects a header that lies about its byte rate or block size, with what is wrong', () => {
    const data = Buffer.alloc(100);
    expect(() => readWav(wav({ bits: 16, rate: 16000, channels: 1, data, byteRate: 12345 }))).toThrow(/inconsistent: byte rate 12345/);
    const lying = wav({ bits: 16, rate: 16000, channels: 1, data });
    lying.writeUInt16LE(6, 32); // block align
    expect(() => readWav(lying)).toThrow(/block align 6/);
    const zeroRate = wav({ bits: 16, rate: 0, channels: 1, data });
    expect(() => readWav(zeroRate)).toThrow(InputError);
    const hugeRate = wav({ bits: 16, rate: 1_000_000, channels: 1, data });
    expect(() => readWav(hugeRate)).toThrow(/1000000 Hz is outside/);
    expect(() => readWav(Buffer.from('RIFF\0\0\0\0WAVEnope'))).toThrow(/no fmt chunk/);
    expect(() => readWav(Buffer.from('ID3 not a wav at all'))).toThrow(/not a WAV file/);
    expect(() => readWav(wav({ bits: 12, rate: 16000, channels: 1, data }))).toThrow(InputError);
  });

  it('rejects a truncated WAV (data chunk larger than the file), but reads a streaming writer\'s unknown size', () => {
    const full = wav({ bits: 16, rate: 16000, channels: 1, data: Buffer.alloc(3200) });
    expect(() => readWav(full.subarray(0, 1000))).toThrow(/truncated: the data chunk says 3200 bytes but only 956 follow/);
    const streaming = wav({ bits: 16, rate: 16000, channels: 1, data: Buffer.alloc(3200), dataSize: 0xffffffff });
    expect(readWav(streaming).durationS).toBeCloseTo(0.1, 5);
    expect(() => readWav(wav({ bits: 16, rate: 16000, channels: 1, data: Buffer.alloc(0) }))).toThrow(/no audio/);
  });

  it('rejects audio longer than the limit before decoding it', () => {
    const w = wav({ bits: 16, rate: 8000, channels: 1, data: Buffer.alloc(8000 * 2 * 3) });
    expect(() => readWav(w, { maxSeconds: 2 })).toThrow(/3\.0 s long; the limit is 2 s/);
  });

  it.skipIf(!haveEspeak)('reads espeak-ng speech (streaming header) and converts it to 16 kHz mono', () => {
    const w = readWav(espeakWav('hello world'));
    expect(w.format).toMatchObject({ rate: 22050, channels: 1, width: 2 });
    expect(w.durationS).toBeGreaterThan(0.5);
    const a = toSpeechAudio(w.samples, w.format.rate, w.format.channels);
    expect(a.sampleRate).toBe(16000);
    expect(a.samples.length).toBe(Math.round((w.samples.length * 16000) / 22050));
  });
});

describe('WAV writer and resampler', () => {
  it.skipIf(!haveFfprobe)('writes 16-bit PCM that ffprobe accepts, with the duration the header claims', () => {
    const samples = Float32Array.from({ length: 24000 }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    const out = writeWav16({ sampleRate: 16000, samples });
    const p = ffprobe(out);
    expect(p).toMatchObject({ codec: 'pcm_s16le', sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(p.durationS).toBeCloseTo(1.5, 3);
    expect(claimedDurationS(out)).toBeCloseTo(1.5, 6);
    const back = readWav(out);
    expect(back.samples[100]).toBeCloseTo(samples[100] ?? 0, 3);
  });

  it('keeps a tone at its frequency and removes a tone above the new Nyquist frequency', () => {
    const rate = 48000;
    const tone = (hz: number) => Float32Array.from({ length: rate }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));
    const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    const crossings = (a: Float32Array) => a.reduce((n, v, i) => (i > 0 && (a[i - 1] ?? 0) < 0 && v >= 0 ? n + 1 : n), 0);
    const low = resample(tone(440), rate, 16000);
    expect(low.length).toBe(16000);
    expect(crossings(low)).toBeGreaterThanOrEqual(439);
    expect(crossings(low)).toBeLessThanOrEqual(441);
    expect(rms(low)).toBeGreaterThan(0.33);
    // 12 kHz cannot exist at 16 kHz: a naive decimator would alias it to 4 kHz at full level
    expect(rms(resample(tone(12000), rate, 16000))).toBeLessThan(0.02);
    expect(resample(low, 16000, 16000)).toBe(low);
  });

  it('decodes raw PCM chunks ignoring a trailing partial frame', () => {
    expect(decodePcm(Buffer.from([0, 64, 0]), { rate: 16000, width: 2, channels: 1 })).toEqual(Float32Array.from([0.5]));
    expect(wavFromPcm16(Buffer.alloc(4), 16000, 1).length).toBe(48);
  });
});
