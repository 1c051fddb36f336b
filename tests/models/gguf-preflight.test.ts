import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaBackend } from '../../src/backends/llama/backend.js';
import { disposeSharedLlama } from '../../src/backends/llama/runtime.js';
import { GgufPreflightError, preflightGguf } from '../../src/models/gguf-preflight.js';
import { probeLoadIsolated } from '../../src/models/isolated-load.js';
import { silentLog, spec, testConfig } from '../backends/llama-helpers.js';
import { realTinyModelPath } from '../fixtures/gguf/real-model.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';

const tmp = tempModelDir();
let good = '';
let goodBytes: Buffer;
const file = (name: string, bytes: Buffer | string): string => {
  const f = path.join(tmp.dir, name);
  writeFileSync(f, bytes);
  return f;
};
/** Expects a GgufPreflightError whose message names the file and matches `problem`. */
function expectRejected(f: string, problem: RegExp): void {
  let err: unknown;
  try {
    preflightGguf(f);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(GgufPreflightError);
  expect((err as Error).message.startsWith(`${f}: `)).toBe(true);
  expect((err as Error).message).toMatch(problem);
}

beforeAll(() => {
  good = tinyLlamaFile(path.join(tmp.dir, 'good.gguf'));
  goodBytes = readFileSync(good);
});
afterAll(async () => {
  await disposeSharedLlama();
  tmp.cleanup();
});

describe('preflightGguf', () => {
  it('accepts our generated model and summarizes it', () => {
    const s = preflightGguf(good);
    expect(s).toMatchObject({ architecture: 'llama', version: 3, name: 'sarai-tiny-llama', fileSize: goodBytes.length });
    expect(s.tensors).toHaveLength(3 + 2 * 9);
    expect(s.dataOffset % 32).toBe(0);
  });

  it('accepts a model converted by llama.cpp (32k SentencePiece vocabulary)', (ctx) => {
    const real = realTinyModelPath();
    // a visible skip with its reason, not a silent pass
    if (!real) return ctx.skip('../shared/models/llama-2-tiny-random.gguf is absent');
    const s = preflightGguf(real);
    expect(s.architecture).toBe('llama');
    expect(s.metadata.get('tokenizer.ggml.tokens')).toEqual({ arrayLength: 32000 });
  });

  it('rejects a missing file', () => expectRejected(path.join(tmp.dir, 'nope.gguf'), /model file not found/));
  it('rejects a non-GGUF file', () => expectRejected(file('a.bin', Buffer.from('PK\x03\x04 this is a zip, not a model, padded out'.padEnd(64, '.'))), /not a GGUF file \(starts with "PK/));
  it('rejects a tiny file', () => expectRejected(file('tiny.gguf', 'GGUF'), /too small/));
  it('rejects an unknown version', () => {
    const b = Buffer.from(goodBytes);
    b.writeUInt32LE(7, 4);
    expectRejected(file('v7.gguf', b), /unsupported GGUF version 7/);
  });
  it('rejects a file truncated inside the tensor data', () => {
    expectRejected(file('cut-data.gguf', goodBytes.subarray(0, goodBytes.length - 1000)), /truncated: tensor "[^"]+" ends at byte \d+ but the file has \d+ bytes/);
  });
  it('rejects a file truncated inside the header', () => {
    expectRejected(file('cut-head.gguf', goodBytes.subarray(0, 2000)), /truncated/);
  });
  it('rejects an architecture this llama.cpp does not know', () => {
    const f = tinyLlamaFile(path.join(tmp.dir, 'arch.gguf'), { architecture: 'frobnicator' });
    expectRejected(f, /architecture "frobnicator" is not supported/);
  });
  it('rejects a bit flip in a tensor dimension', () => {
    const b = Buffer.from(goodBytes);
    const at = b.indexOf('output_norm.weight') + 'output_norm.weight'.length + 4; // after n_dims
    b[at + 3] = (b[at + 3] ?? 0) ^ 0x40; // dims[0] gains 2^30
    expectRejected(file('flip-dim.gguf', b), /truncated: tensor "output_norm.weight"|not a multiple/);
  });
  it('rejects a bit flip in the tensor type', () => {
    const b = Buffer.from(goodBytes);
    const at = b.indexOf('output_norm.weight') + 'output_norm.weight'.length + 4 + 8; // the type, after one u64 dim
    b[at] = (b[at] ?? 0) ^ 0x40;
    expectRejected(file('flip-type.gguf', b), /unknown ggml type 64/);
  });
  it('rejects a bit flip in a metadata length', () => {
    const b = Buffer.from(goodBytes);
    b[24 + 7] = (b[24 + 7] ?? 0) ^ 0x01; // high byte of the first key's u64 length
    expectRejected(file('flip-len.gguf', b), /length of metadata key #0 is \d+|truncated/);
  });
  it('rejects a vocabulary with a repeated token (llama.cpp would abort the process on it)', () => {
    const b = Buffer.from(goodBytes);
    b.write('<0x4B>', b.indexOf('<0x4A>'), 'latin1'); // 'A' (0x41) -> 'B' (0x42): two tokens now collide
    expectRejected(file('dup-token.gguf', b), /tokenizer.ggml.tokens: token #\d+ "<0x4B>" repeats token #\d+/);
  });
  it('rejects an embedding size that disagrees with the tensors', () => {
    const b = Buffer.from(goodBytes);
    const key = 'llama.embedding_length';
    const at = b.indexOf(key) + key.length + 4; // after the value type
    b.writeUInt32LE(65, at);
    expectRejected(file('flip-embd.gguf', b), /embedding_length is 65/);
  });

  it('never throws anything but GgufPreflightError for single bit flips anywhere in the header', () => {
    const { dataOffset } = preflightGguf(good);
    const others: string[] = [];
    // ~400 flips spread over the whole header (7 bytes apart in a small one): bounded on a busy box;
    // random flips at any offset are the fuzz test's job (tests/fuzz)
    const step = Math.max(7, Math.ceil(dataOffset / 400));
    for (let pos = 0; pos < dataOffset; pos += step) {
      const b = Buffer.from(goodBytes);
      b[pos] = (b[pos] ?? 0) ^ (1 << pos % 8);
      try {
        preflightGguf(file('fuzz.gguf', b));
      } catch (err) {
        if (!(err instanceof GgufPreflightError)) others.push(`byte ${pos}: ${String(err)}`);
      }
    }
    expect(others).toEqual([]);
  });

  it('keeps the process alive: a damaged model fails its load, the next good one loads', async () => {
    const config = testConfig({ tiny: { backend: 'llama', context_length: 256, max_tokens: 4 } });
    const bad = file('trunc-load.gguf', goodBytes.subarray(0, goodBytes.length - 4096));
    const mk = (modelPath: string) => new LlamaBackend({ role: 'tiny', spec: spec(config, 'tiny'), modelPath, runtime: config.runtime, log: silentLog });
    const b1 = mk(bad);
    await expect(b1.start()).rejects.toBeInstanceOf(GgufPreflightError);
    await b1.dispose();
    const b2 = mk(good);
    const r = await b2.generate({ messages: [{ role: 'user', content: 'hi' }] });
    expect(r.tokens).toBe(4);
    await b2.dispose();
  });

  it('loads a file llama.cpp aborts on only in a child process: the child dies, we get the reason', async () => {
    const b = Buffer.from(goodBytes);
    b.write('<0x4B>', b.indexOf('<0x4A>'), 'latin1'); // repeated token: GGML_ASSERT in llama-vocab.cpp
    const f = file('abort.gguf', b);
    const err = await probeLoadIsolated(f, { gpu: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GgufPreflightError);
    expect((err as Error).message).toMatch(/llama.cpp aborted while loading it \(.*GGML_ASSERT/);
    await expect(probeLoadIsolated(good, { gpu: false })).resolves.toBeUndefined();
  });

  it('runs the isolated probe before an in-process load when runtime.probe_load is on', async () => {
    const config = testConfig({ tiny: { backend: 'llama', context_length: 256, max_tokens: 2 } }, { runtime: { threads: 1, probe_load: true } });
    const b = new LlamaBackend({ role: 'tiny', spec: spec(config, 'tiny'), modelPath: good, runtime: config.runtime, log: silentLog });
    const r = await b.generate({ messages: [{ role: 'user', content: 'hi' }] });
    expect(r.tokens).toBe(2);
    await b.dispose();
  });
});
