import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaBackend } from '../../src/backends/llama/backend.js';
import { disposeSharedLlama } from '../../src/backends/llama/runtime.js';
import { CAMERA_RESULT_SCHEMA, CAMERA_SEVERITIES, type CameraModelAnswer } from '../../src/core/camera-schema.js';
import { CapacityError, DisposedError, InputError, TimeoutError } from '../../src/core/errors.js';
import { GgufPreflightError } from '../../src/models/gguf-preflight.js';
import { realTinyModelPath } from '../fixtures/gguf/real-model.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { silentLog, spec, testConfig } from './llama-helpers.js';

const tmp = tempModelDir();
const backends: LlamaBackend[] = [];

function backend(role: string, modelPath: string, model: Record<string, unknown> = {}): LlamaBackend {
  const config = testConfig({ [role]: { backend: 'llama', gguf_file: modelPath, context_length: 1024, temperature: 0, max_tokens: 24, ...model } });
  const b = new LlamaBackend({ role, spec: spec(config, role), modelPath, runtime: config.runtime, log: silentLog });
  backends.push(b);
  return b;
}

let textModel = '';
let embedModel = '';
beforeAll(() => {
  textModel = tinyLlamaFile(path.join(tmp.dir, 'text.gguf'));
  embedModel = tinyLlamaFile(path.join(tmp.dir, 'embed.gguf'), { steer: false, seed: 7 });
});
afterAll(async () => {
  for (const b of backends) await b.dispose();
  await disposeSharedLlama();
  tmp.cleanup();
});

describe('LlamaBackend on a generated tiny LLaMA', () => {
  it('answers a chat turn and streams the same text token by token', async () => {
    const b = backend('tiny', textModel);
    const pieces: string[] = [];
    const r = await b.generate({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: 'hi' },
        { role: 'user', content: 'what time is it?' },
      ],
      onToken: (t) => pieces.push(t),
    });
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.tokens).toBe(24);
    expect(pieces.join('')).toBe(r.text);
    expect(r.model).toBe('text.gguf');
    expect(b.health().state).toBe('ready');
    expect(b.measuredBytes()).toBeGreaterThan(500_000);
  });

  it('completes plain text without a chat template', async () => {
    const b = backend('tiny', textModel);
    const r = await b.complete({ prompt: 'Once upon a time', maxTokens: 10 });
    expect(r.tokens).toBe(10);
    expect(r.text.length).toBeGreaterThan(0);
  });

  it('answers in the camera JSON schema, parsed', async () => {
    const b = backend('tiny', textModel, { max_tokens: 200 });
    const r = await b.generate({ messages: [{ role: 'user', content: 'Describe the scene.' }], jsonSchema: CAMERA_RESULT_SCHEMA });
    const parsed = JSON.parse(r.text) as CameraModelAnswer;
    expect(r.json).toEqual(parsed);
    expect(typeof parsed.summary).toBe('string');
    expect(parsed.summary.length).toBeLessThanOrEqual(255);
    expect(typeof parsed.description).toBe('string');
    expect(Array.isArray(parsed.objects)).toBe(true);
    expect(typeof parsed.alert).toBe('boolean');
    expect(CAMERA_SEVERITIES).toContain(parsed.severity);
  });

  it('embeds texts into distinct vectors of the hidden size', async () => {
    const b = backend('embedding', embedModel);
    expect([...b.capabilities]).toEqual(['embedding']);
    const [a, c, a2] = await b.embed(['turn on the lights', 'what is the capital of France', 'turn on the lights']);
    expect(a?.length).toBe(64);
    expect(a?.every(Number.isFinite)).toBe(true);
    expect(a).toEqual(a2);
    expect(a).not.toEqual(c);
  });

  it('stops at timeout_s with a TimeoutError and serves the next request', async () => {
    const b = backend('tiny', textModel, { timeout_s: 0.3 });
    await b.start();
    const started = Date.now();
    await expect(b.generate({ messages: [{ role: 'user', content: 'go' }], maxTokens: 900 }).catch((e: unknown) => e)).resolves.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(3000);
    const r = await b.generate({ messages: [{ role: 'user', content: 'again' }], maxTokens: 5 });
    expect(r.tokens).toBe(5);
  });

  it('stops when the caller aborts', async () => {
    const b = backend('tiny', textModel);
    await b.start();
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    const p = b.generate({ messages: [{ role: 'user', content: 'go' }], maxTokens: 900, signal: ac.signal, onToken: () => ac.abort(reason) });
    await expect(p).rejects.toBe(reason);
  });

  it('bounds concurrency: one runs, one queues, the third is refused', async () => {
    const b = backend('tiny', textModel, { concurrency: 1, queue_limit: 1 });
    await b.start();
    const ask = () => b.generate({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 20 });
    const results = await Promise.allSettled([ask(), ask(), ask()]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(CapacityError);
  });

  it('refuses a prompt longer than the context, clearly', async () => {
    const b = backend('tiny', textModel, { context_length: 128 });
    const long = 'word '.repeat(200);
    const err = await b.generate({ messages: [{ role: 'user', content: long }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/prompt of \d+ tokens plus max_tokens 24 does not fit the context of \d+ tokens/);
  });

  it('rejects a damaged file before llama.cpp sees it, and reports failed health', async () => {
    const bad = path.join(tmp.dir, 'bad.gguf');
    writeFileSync(bad, 'this is not a model');
    const b = backend('tiny', bad);
    const err = await b.generate({ messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GgufPreflightError);
    expect((err as Error).message).toContain(bad);
    expect(b.health()).toMatchObject({ state: 'failed' });
  });

  it('throws DisposedError after dispose and frees the model', async () => {
    const b = backend('tiny', textModel);
    await b.start();
    await b.dispose();
    expect(b.isLoaded).toBe(false);
    await expect(b.generate({ messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(DisposedError);
  });
});

describe('LlamaBackend on a llama.cpp-converted model (SentencePiece 32k vocabulary)', () => {
  const real = realTinyModelPath();
  it.skipIf(!real)('answers chat and embeds', async () => {
    const b = backend('tiny', real ?? '', { max_tokens: 8 });
    const r = await b.generate({ messages: [{ role: 'user', content: 'Hello, how are you?' }] });
    expect(r.tokens).toBeGreaterThan(0);
    const [v] = await b.embed(['hello world']);
    expect(v?.length).toBe(8);
  });
});
