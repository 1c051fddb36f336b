import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { InputError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import { PipelineHost } from '../../src/backends/transformers/pipeline-client.js';
import { ModelManager } from '../../src/models/manager.js';
import { TransformersBackend } from '../../src/backends/transformers/index.js';
import {
  makeTinyAsr,
  makeTinyCaptioner,
  makeTinyEmbedder,
  makeTinyTts,
  makeTinyWhisper,
  type TinyAsr,
  type TinyCaptioner,
  type TinyTts,
  type TinyWhisper,
} from '../fixtures/onnx/index.js';
import { silentLog } from './llama-helpers.js';
import { backendFor, solidImage, tempDir, tone } from './transformers-helpers.js';

// Real transformers.js pipelines on ONNX Runtime (CPU), on tiny models generated per run.
let tmp: { dir: string; cleanup: () => Promise<void> };
let captioner: TinyCaptioner;
let asr: TinyAsr;
let tts: TinyTts;
let whisper: TinyWhisper;
const backends: TransformersBackend[] = [];
function track(b: TransformersBackend): TransformersBackend {
  backends.push(b);
  return b;
}

beforeAll(async () => {
  tmp = await tempDir('transformers');
  await makeTinyEmbedder(path.join(tmp.dir, 'tiny', 'embedder'));
  captioner = await makeTinyCaptioner(path.join(tmp.dir, 'tiny', 'captioner'));
  asr = await makeTinyAsr(path.join(tmp.dir, 'tiny', 'asr'));
  tts = await makeTinyTts(path.join(tmp.dir, 'tiny', 'tts'));
  whisper = await makeTinyWhisper(path.join(tmp.dir, 'tiny', 'whisper'), { text: 'turn on the kitchen lights' });
});

afterAll(async () => {
  for (const b of backends) await b.dispose();
  for (const b of backends) expect(b.isLoaded).toBe(false);
  await tmp.cleanup();
});

describe('transformers worker memory', () => {
  it('the worker reports its own heap, which the main thread does not see, and /metrics shows it', async () => {
    const metrics = new Metrics();
    const config = configFromObject({ models_dir: tmp.dir, models: { embedding: { backend: 'transformers', model: 'tiny/embedder' } } }, 'test');
    const m = new ModelManager({ config, baseDir: tmp.dir, log: silentLog, metrics });
    try {
      await m.start();
      const b = m.managed('embedding');
      if (!(b instanceof TransformersBackend)) throw new Error('no transformers embedding backend');
      await b.embed(['Turn on the kitchen lights']);
      const own = await PipelineHost.peek()?.memory();
      expect(own?.heapUsed).toBeGreaterThan(1_048_576); // transformers.js and its tokenizer live there
      expect(own?.heapTotal).toBeGreaterThanOrEqual(own?.heapUsed ?? Infinity);
      const text = await metrics.text();
      const used = Number(/sarai_transformers_worker_memory_bytes\{kind="heap_used"\} (\d+)/.exec(text)?.[1]);
      expect(used).toBeGreaterThan(1_048_576);
    } finally {
      await m.stop();
    }
    // no worker: no figure, and a scrape does not wait for one
    expect(PipelineHost.peek()).toBeUndefined();
    expect(await metrics.text()).not.toMatch(/sarai_transformers_worker_memory_bytes\{/);
  });
});

describe('transformers backend: feature extraction (embedding role)', () => {
  it('returns one unit-length vector per text, closer within a topic than across topics', async () => {
    const b = track(backendFor('embedding', { model: 'tiny/embedder' }, tmp.dir));
    expect([...b.capabilities]).toEqual(['embedding']);
    expect(b.health().state).toBe('idle');
    const [lights, garage, physics] = await b.embed(['Turn on the kitchen lights', 'open the garage door', 'explain quantum physics']);
    expect(b.health().state).toBe('ready');
    for (const v of [lights, garage, physics]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v?.length).toBe(32);
      expect(Math.hypot(...(v ?? []))).toBeCloseTo(1, 4);
    }
    const dot = (a?: Float32Array, c?: Float32Array): number => {
      let sum = 0;
      for (let i = 0; i < (a?.length ?? 0); i++) sum += (a?.[i] ?? 0) * (c?.[i] ?? 0);
      return sum;
    };
    expect(dot(lights, garage)).toBeGreaterThan(0.8);
    expect(dot(lights, physics)).toBeLessThan(0.3);
    expect(await b.embed([])).toEqual([]);
  });

  it('embeds more texts than one batch holds, in order', async () => {
    const b = track(backendFor('embedding', { model: 'tiny/embedder' }, tmp.dir));
    const texts = Array.from({ length: 37 }, (_, i) => (i % 2 ? 'explain the theory' : 'turn off the lamp'));
    const out = await b.embed(texts);
    expect(out).toHaveLength(37);
    expect(out[0]).toEqual(out[2]);
    expect(out[36]).toEqual(out[0]);
    expect(out[1]).not.toEqual(out[0]);
  });
});

describe('transformers backend: image-to-text (vision role)', () => {
  it('captions JPEG, PNG and WebP snapshots with the known caption, with timing and token count', async () => {
    const b = track(backendFor('vision', { model: path.join(tmp.dir, 'tiny', 'captioner'), name: 'Tiny captioner' }, '/nonexistent'));
    expect([...b.capabilities].sort()).toEqual(['image', 'video']);
    const cases: [[number, number, number], 'jpeg' | 'png' | 'webp'][] = [
      [[220, 20, 20], 'jpeg'],
      [[20, 200, 30], 'png'],
      [[10, 20, 230], 'webp'],
    ];
    for (const [rgb, format] of cases) {
      const r = await b.generate({ messages: [{ role: 'user', content: 'Describe the scene' }], images: [await solidImage(rgb, format)] });
      expect(r.text).toBe(captioner.captionFor(rgb));
      expect(r.model).toBe('Tiny captioner');
      expect(r.tokens).toBe(3);
      expect(r.latencyMs).toBeGreaterThanOrEqual(0);
      expect(r.latencyMs).toBeLessThan(10_000);
    }
  });

  it('streams tokens through onToken and captions every frame of a clip', async () => {
    const b = track(backendFor('vision', { model: 'tiny/captioner' }, tmp.dir));
    const pieces: string[] = [];
    const frames = [await solidImage([200, 0, 0]), await solidImage([200, 0, 0]), await solidImage([0, 0, 200])];
    const r = await b.generate({ messages: [{ role: 'user', content: 'What happens?' }], images: frames, onToken: (t) => pieces.push(t) });
    expect(r.text).toBe('a red picture; a blue picture');
    expect(pieces.join('').replace(/\s+/g, ' ').trim()).toContain('a red picture');
    expect(r.tokens).toBe(9);
  });

  it('rejects bytes that are not an image with a clear InputError, and the next request works', async () => {
    const b = track(backendFor('vision', { model: 'tiny/captioner' }, tmp.dir));
    const garbage = Buffer.from('this is not a jpeg, just some bytes \x00\x01\x02');
    await expect(b.generate({ messages: [{ role: 'user', content: 'x' }], images: [garbage] })).rejects.toThrow(
      /vision: the image could not be decoded as an image .*send JPEG, PNG or WebP/,
    );
    await expect(b.generate({ messages: [{ role: 'user', content: 'x' }], images: [Buffer.alloc(0)] })).rejects.toBeInstanceOf(InputError);
    await expect(b.generate({ messages: [{ role: 'user', content: 'x' }] })).rejects.toThrow(/describes images; the request has none/);
    // A truncated JPEG (header only) is also refused, not half-read.
    const jpeg = await solidImage([0, 200, 0]);
    await expect(b.generate({ messages: [{ role: 'user', content: 'x' }], images: [jpeg.subarray(0, 40)] })).rejects.toBeInstanceOf(InputError);
    const ok = await b.generate({ messages: [{ role: 'user', content: 'x' }], images: [jpeg] });
    expect(ok.text).toBe('a green picture');
    expect(b.health().state).toBe('ready');
  });

  it('scales big images down to image_size before the model sees them', async () => {
    const b = track(backendFor('vision', { model: 'tiny/captioner', image_size: 64 }, tmp.dir));
    const big = await solidImage([10, 10, 240], 'png', { width: 3000, height: 2000 });
    const r = await b.generate({ messages: [{ role: 'user', content: 'x' }], images: [big] });
    expect(r.text).toBe('a blue picture');
  });
});

describe('transformers backend: speech recognition (stt role)', () => {
  it('transcribes 16 kHz speech-like audio to the known text, and digital silence to nothing', async () => {
    const b = track(backendFor('stt', { model: 'tiny/asr' }, tmp.dir));
    expect([...b.capabilities]).toEqual(['audio_in']);
    const r = await b.transcribe({ sampleRate: 16_000, samples: tone(1, 16_000) });
    expect(r.text).toBe(asr.text);
    expect(r.model).toBe('asr');
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect((await b.transcribe({ sampleRate: 16_000, samples: new Float32Array(16_000) })).text).toBe('');
  });

  it('resamples other rates to the model rate and pads very short clips', async () => {
    const b = track(backendFor('stt', { model: 'tiny/asr' }, tmp.dir));
    // minSamples at 16 kHz is the shortest clip giving the whole text; 48 kHz audio of that
    // duration must give the same text after resampling.
    const seconds = asr.minSamples / 16_000 + 0.01;
    expect((await b.transcribe({ sampleRate: 48_000, samples: tone(seconds, 48_000) })).text).toBe(asr.text);
    expect((await b.transcribe({ sampleRate: 8_000, samples: tone(1, 8_000) })).text).toBe(asr.text);
    const short = await b.transcribe({ sampleRate: 16_000, samples: tone(0.005, 16_000) });
    expect(asr.text.startsWith(short.text)).toBe(true);
  });

  it('rejects unusable audio with InputError and keeps working', async () => {
    const b = track(backendFor('stt', { model: 'tiny/asr' }, tmp.dir));
    await expect(b.transcribe({ sampleRate: 16_000, samples: new Float32Array(0) })).rejects.toThrow(/audio is empty/);
    await expect(b.transcribe({ sampleRate: 0, samples: tone(1, 16_000) })).rejects.toBeInstanceOf(InputError);
    const nan = tone(1, 16_000);
    nan[5] = Number.NaN;
    await expect(b.transcribe({ sampleRate: 16_000, samples: nan })).rejects.toThrow(/sample 5 is not a finite number/);
    expect((await b.transcribe({ sampleRate: 16_000, samples: tone(1, 16_000) })).text).toBe(asr.text);
  });

  it('hears whatever text the fixture is built with', async () => {
    const other = await makeTinyAsr(path.join(tmp.dir, 'tiny', 'asr-lights'), { text: "turn on the kitchen lights don't wait" });
    const b = track(backendFor('stt', { model: other.dir }, tmp.dir));
    expect((await b.transcribe({ sampleRate: 16_000, samples: tone(2, 16_000) })).text).toBe(other.text);
  });
});

describe('transformers backend: speech recognition with a whisper-shaped encoder-decoder', () => {
  it('transcribes through the whisper path (log-mel features, cached decoding), silence to nothing', async () => {
    const b = track(backendFor('stt', { model: 'tiny/whisper' }, tmp.dir));
    const r = await b.transcribe({ sampleRate: 16_000, samples: tone(1.5, 16_000) });
    expect(r.text).toBe(whisper.text);
    expect(r.latencyMs).toBeGreaterThan(0);
    expect((await b.transcribe({ sampleRate: 16_000, samples: new Float32Array(16_000) })).text).toBe('');
  });

  it('transcribes audio longer than one 30 s window in overlapping chunks, merged once', async () => {
    const b = track(backendFor('stt', { model: 'tiny/whisper' }, tmp.dir));
    const r = await b.transcribe({ sampleRate: 16_000, samples: tone(45, 16_000) });
    expect(r.text).toBe(whisper.text);
  });
});

describe('transformers backend: text-to-speech (tts role)', () => {
  it('synthesizes Float32 audio at the model sampling rate with the known length', async () => {
    const b = track(backendFor('tts', { model: 'tiny/tts' }, tmp.dir));
    expect([...b.capabilities]).toEqual(['audio_out']);
    const r = await b.synthesize('Hello, world!');
    expect(r.audio.sampleRate).toBe(16_000);
    expect(r.audio.samples).toBeInstanceOf(Float32Array);
    expect(r.audio.samples.length).toBe(tts.expectedSamples('Hello, world!'));
    const peak = r.audio.samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(0.4);
    expect(peak).toBeLessThanOrEqual(1);
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('reports the model own rate (22.05 kHz model)', async () => {
    const t22 = await makeTinyTts(path.join(tmp.dir, 'tiny', 'tts22'), { sampleRate: 22_050, samplesPerChar: 441 });
    const b = track(backendFor('tts', { model: t22.dir }, tmp.dir));
    const r = await b.synthesize('abc');
    expect(r.audio.sampleRate).toBe(22_050);
    expect(r.audio.samples.length).toBe(3 * 441);
  });

  it('refuses empty, unpronounceable and over-long text with InputError', async () => {
    const b = track(backendFor('tts', { model: 'tiny/tts' }, tmp.dir));
    await expect(b.synthesize('   ')).rejects.toThrow(/nothing to say/);
    await expect(b.synthesize('!!! 123 ???'.replace(/ /g, ''))).rejects.toThrow(/produced no audio/);
    await expect(b.synthesize('a'.repeat(2001))).rejects.toThrow(/limit is 2000/);
    expect((await b.synthesize('ok')).audio.samples.length).toBe(tts.expectedSamples('ok'));
  });
});
