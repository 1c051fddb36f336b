import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { CAMERA_RESULT_SCHEMA, CAMERA_SEVERITIES } from '../../src/core/camera-schema.js';
import { MultimodalBackend, ModelHostStoppedError } from '../../src/backends/multimodal/index.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { tinyAudioMmproj, tinyOmniMmproj, tinyVisionMmproj } from '../fixtures/gguf/tiny-mtmd.js';
import { silentLog, spec, testConfig } from './llama-helpers.js';

const models = tempModelDir('sarai-mtmd-');
const text = path.join(models.dir, 'text.gguf');
const vision = path.join(models.dir, 'vision-mmproj.gguf');
const audio = path.join(models.dir, 'audio-mmproj.gguf');
const omni = path.join(models.dir, 'omni-mmproj.gguf');
const mismatched = path.join(models.dir, 'mismatched-mmproj.gguf');
const damaged = path.join(models.dir, 'damaged-mmproj.gguf');
const backends: MultimodalBackend[] = [];

function backend(mmprojPath: string, contextLength = 4096): MultimodalBackend {
  const config = testConfig({ omni: { backend: 'llama', gguf_file: text, mmproj_file: mmprojPath, context_length: contextLength, max_tokens: 64, timeout_s: 120 } });
  const b = new MultimodalBackend({ role: 'omni', spec: spec(config, 'omni'), modelPath: text, mmprojPath, runtime: config.runtime, log: silentLog });
  backends.push(b);
  return b;
}

const jpeg = (w: number, h: number): Promise<Buffer> => sharp({ create: { width: w, height: h, channels: 3, background: { r: 180, g: 40, b: 20 } } }).jpeg().toBuffer();
function tone(seconds: number, rate = 16_000): { sampleRate: number; samples: Float32Array } {
  return { sampleRate: rate, samples: Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate)) };
}
const ask = (content: string) => [{ role: 'user' as const, content }];

beforeAll(() => {
  tinyLlamaFile(text, { nEmbd: 64 });
  tinyVisionMmproj(vision, { projectionDim: 64 });
  tinyAudioMmproj(audio, { projectionDim: 64 });
  tinyOmniMmproj(omni, { projectionDim: 64 });
  tinyVisionMmproj(mismatched, { projectionDim: 8 });
  const good = tinyVisionMmproj(path.join(models.dir, 'tmp.gguf'), { projectionDim: 64 });
  writeFileSync(damaged, readFileSync(good).subarray(0, 4000));
});

afterAll(async () => {
  for (const b of backends) await b.dispose();
  models.cleanup();
});

describe('multimodal backend (llama.node + libmtmd in a model host process)', () => {
  it('a JPEG reaches the real image encoder and the answer is camera JSON under the grammar', async () => {
    const b = backend(vision);
    const plain = await b.generate({ messages: ask('Describe the scene.'), maxTokens: 4 });
    const r = await b.generate({ messages: ask('Describe the scene.'), images: [await jpeg(64, 64)], jsonSchema: CAMERA_RESULT_SCHEMA, maxTokens: 512 });
    expect(b.multimodalSupport).toEqual({ vision: true, audio: false });
    // a 64x64 image is 16 tokens for this projector
    expect(r.timings.promptTokens - plain.timings.promptTokens).toBeGreaterThanOrEqual(16);
    const json = r.json as Record<string, unknown>;
    expect(typeof json.summary).toBe('string');
    expect(Array.isArray(json.objects)).toBe(true);
    expect(typeof json.alert).toBe('boolean');
    expect(CAMERA_SEVERITIES).toContain(json.severity);
  }, 120_000);

  it('audio reaches the real audio encoder (~1,500 tokens per 30 s window)', async () => {
    const b = backend(audio);
    const r = await b.generate({ messages: ask('What was said?'), audio: tone(1), maxTokens: 4 });
    expect(b.multimodalSupport).toEqual({ vision: false, audio: true });
    expect(r.timings.promptTokens).toBeGreaterThan(1000);
  }, 120_000);

  it('a clip sends its frames and its sound in one request (an omni projector with both encoders)', async () => {
    const b = backend(omni);
    const frames = await b.generate({ messages: ask('What happened?'), images: [await jpeg(64, 64), await jpeg(64, 64)], maxTokens: 2 });
    const both = await b.generate({ messages: ask('What happened?'), images: [await jpeg(64, 64), await jpeg(64, 64)], audio: tone(1), maxTokens: 2 });
    expect(b.multimodalSupport).toEqual({ vision: true, audio: true });
    expect(frames.timings.promptTokens).toBeGreaterThanOrEqual(2 * 16);
    // the audio's ~1,500 tokens are in the same prompt as the two frames
    expect(both.timings.promptTokens - frames.timings.promptTokens).toBeGreaterThan(1000);
  }, 120_000);

  it('refuses bad media with InputError before the model sees it, and carries on', async () => {
    const b = backend(vision);
    const cmyk = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } }).toColourspace('cmyk').jpeg().toBuffer();
    const alpha = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } }).png().toBuffer();
    await expect(b.generate({ messages: ask('x'), images: [await jpeg(1, 1)] })).rejects.toThrow(/too small/);
    await expect(b.generate({ messages: ask('x'), images: [await jpeg(8000, 8000)] })).rejects.toThrow(/too large|pixel limit/);
    await expect(b.generate({ messages: ask('x'), images: [Buffer.from('not an image')] })).rejects.toBeInstanceOf(InputError);
    const frame = (c: string) => ({ create: { width: 32, height: 32, channels: 3 as const, background: c } });
    const webp = await sharp([await sharp(frame('#ff0000')).png().toBuffer(), await sharp(frame('#00ff00')).png().toBuffer()], { join: { animated: true } }).webp().toBuffer();
    await expect(b.generate({ messages: ask('x'), images: [webp] })).rejects.toThrow(/animated image/);
    await expect(b.generate({ messages: ask('x'), audio: { sampleRate: 16_000, samples: new Float32Array(16_000) } })).rejects.toThrow(/silent/);
    await expect(b.generate({ messages: ask('x'), audio: tone(600) })).rejects.toThrow(/longer than/);
    // CMYK and alpha are converted, not refused: they reach the encoder as sRGB JPEG
    for (const img of [cmyk, alpha]) {
      const r = await b.generate({ messages: ask('x'), images: [img], maxTokens: 2 });
      expect(r.timings.promptTokens).toBeGreaterThan(16);
    }
    // audio to a vision-only projector is refused, and the context is still usable after it
    await expect(b.generate({ messages: ask('x'), audio: tone(1) })).rejects.toThrow(/no audio encoder/);
    expect((await b.generate({ messages: ask('still there?'), maxTokens: 2 })).tokens).toBeGreaterThan(0);
  }, 180_000);

  it('a prompt that does not fit the context fails that call clearly; a new host serves the next call', async () => {
    const b = backend(audio, 512);
    await b.start();
    const firstPid = b.hostPid;
    // 1 s of audio is ~1,500 tokens: llama.node throws and its context refuses every later completion
    await expect(b.generate({ messages: ask('x'), audio: tone(1), maxTokens: 2 })).rejects.toThrow(/does not fit the context \(context_length 512 tokens\).*raise the role's context_length/);
    expect(b.health().state).not.toBe('failed');
    expect((await b.generate({ messages: ask('still there?'), maxTokens: 2 })).tokens).toBeGreaterThan(0);
    expect(b.hostPid).not.toBe(firstPid);
  }, 120_000);

  it("llama.node's leftover in-progress flag (its Queue/OnComplete race) costs one retry on a fresh host, not the call", async () => {
    const b = backend(vision);
    await b.start();
    const firstPid = b.hostPid;
    await b.wedgeHostForTest();
    const r = await b.generate({ messages: ask('after the wedge'), images: [await jpeg(64, 64)], maxTokens: 2 });
    expect(r.timings.promptTokens).toBeGreaterThan(16);
    expect(b.hostPid).not.toBe(firstPid);
    expect(b.health().state).toBe('ready');
  }, 120_000);

  it('a damaged or dimension-mismatched mmproj is refused cleanly, and a good one loads after it', async () => {
    const bad = backend(damaged);
    await expect(bad.start()).rejects.toThrow();
    expect(bad.health().state).toBe('failed');
    const mm = backend(mismatched);
    await expect(mm.start()).rejects.toThrow(/refused by libmtmd/);
    expect(mm.health()).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/projection_dim/) });
    const good = backend(vision);
    await good.start();
    expect(good.health().state).toBe('ready');
  }, 120_000);

  it('a native abort in the host fails the call with a clear error, shows in health, and the next call restarts the host', async () => {
    const b = backend(omni);
    await b.start();
    const firstPid = b.hostPid;
    expect(firstPid).toBeGreaterThan(0);
    await b.crashHostForTest(); // process.abort() inside the host, as a GGML_ASSERT would
    expect(b.isLoaded).toBe(false);
    const r = await b.generate({ messages: ask('again'), images: [await jpeg(64, 64)], maxTokens: 2 });
    expect(r.timings.promptTokens).toBeGreaterThan(16);
    expect(b.hostPid).not.toBe(firstPid);
    // an abort while a call is in flight (30 s of audio keeps the encoder busy for seconds): that call fails
    const inflight = b.generate({ messages: ask('long'), audio: tone(30), maxTokens: 2 });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (b.limiter.active > 0) { clearInterval(poll); resolve(); }
      }, 5);
    });
    const crashed = b.crashHostForTest();
    await expect(inflight).rejects.toBeInstanceOf(ModelHostStoppedError);
    await expect(inflight).rejects.toThrow(/model host exited \(signal SIGABRT\)/);
    await crashed;
    // the end of the host's stderr (where llama.cpp names a failed assert) is in the error
    expect(b.health()).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/SIGABRT.*last words: .*GGML_ASSERT\(crash requested by a test\) failed/) });
    expect((await b.generate({ messages: ask('after'), maxTokens: 2 })).tokens).toBeGreaterThan(0);
    expect(b.health().state).toBe('ready');
  }, 180_000);
});
