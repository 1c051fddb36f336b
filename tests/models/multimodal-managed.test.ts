import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MultimodalBackend } from '../../src/backends/multimodal/index.js';
import { configFromObject } from '../../src/config/load.js';
import { CapacityError } from '../../src/core/errors.js';
import type { GgufSummary } from '../../src/models/gguf-preflight.js';
import { ModelManager } from '../../src/models/manager.js';
import { estimateMultimodalMb } from '../../src/models/memory-estimate.js';
import { createModelLayer, startModelLayer, stopModelLayer } from '../../src/router/model-layer.js';
import { silentLog } from '../backends/llama-helpers.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { tinyVisionMmproj } from '../fixtures/gguf/tiny-mtmd.js';

/**
 * Multimodal roles (GGUF + mmproj, libmtmd in a model host) under the model manager (issue 12,
 * item 3): warm_up loads them at start, their estimate (model + mmproj + context) counts
 * against memory.budget_mb, a load that cannot fit is refused, auto_unload: false pins.
 * Real model hosts on the tiny GGUF + vision mmproj the fixtures write.
 */
const tmp = tempModelDir('sarai-mm-managed-');
const text = path.join(tmp.dir, 'text.gguf');
const mmproj = path.join(tmp.dir, 'vision-mmproj.gguf');
const managers: ModelManager[] = [];

beforeAll(() => {
  tinyLlamaFile(text, { nEmbd: 64 });
  tinyVisionMmproj(mmproj, { projectionDim: 64 });
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});
afterAll(() => tmp.cleanup());

const mm = (extra: Record<string, unknown> = {}) => ({ backend: 'llama', gguf_file: text, mmproj_file: mmproj, context_length: 512, max_tokens: 8, timeout_s: 120, ...extra });

function manager(models: Record<string, unknown>, memory: Record<string, number> = {}) {
  const config = configFromObject({ models_dir: tmp.dir, runtime: { threads: 1 }, memory, models }, 'test');
  const m = new ModelManager({ config, baseDir: tmp.dir, log: silentLog });
  managers.push(m);
  return m;
}
const host = (m: ModelManager, role: string) => {
  const b = m.managed(role);
  if (!(b instanceof MultimodalBackend)) throw new Error(`${role} is not a managed multimodal backend`);
  return b;
};
const loaded = (m: ModelManager) => m.info().filter((i) => i.loaded).map((i) => i.role).sort();

describe('multimodal roles under the model manager', () => {
  it('warm_up loads the model host at start and its model + mmproj + context estimate is counted', async () => {
    const m = manager({ vision: mm({ warm_up: true }) });
    await m.start();
    expect(loaded(m)).toEqual(['vision']);
    expect(host(m, 'vision').hostPid).toBeGreaterThan(0);
    const info = m.info().find((i) => i.role === 'vision');
    expect(info?.estimatedMb).toBeGreaterThan(0);
    expect(m.usedMb()).toBe(info?.estimatedMb);
    const r = await host(m, 'vision').generate({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 2 });
    expect(typeof r.text).toBe('string');
  }, 120_000);

  it('a budget too small for it refuses the load with the reason, and the manager carries on', async () => {
    const m = manager({ vision: mm({ warm_up: true, max_memory_mb: 500 }) }, { budget_mb: 400, hard_limit_mb: 400 });
    await m.start(); // warm-up failure is logged, not fatal
    expect(loaded(m)).toEqual([]);
    const err = await host(m, 'vision').generate({ messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect((err as Error).message).toMatch(/vision: needs ~500 MB, more than memory.budget_mb \(400 MB\)/);
    expect(host(m, 'vision').hostPid).toBeUndefined();
  }, 120_000);

  it('idle_unload_s stops the model host; it loads again on the next request', async () => {
    const m = manager({ vision: mm({ warm_up: true, idle_unload_s: 1 }) });
    await m.start();
    const pid = host(m, 'vision').hostPid;
    expect(pid).toBeGreaterThan(0);
    await m.unloadIdle(Date.now() + 5_000);
    expect(loaded(m)).toEqual([]);
    expect(host(m, 'vision').hostPid).toBeUndefined();
    await host(m, 'vision').generate({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 2 });
    expect(loaded(m)).toEqual(['vision']);
  }, 120_000);

  it('with declared sizes, Omni-7B pinned + tiny + embedding + vision fit the 12 GB budget and 16 GB hard limit; more is refused', async () => {
    // Qwen2.5-Omni-7B Q4_K_M text GGUF (4.68 GB, qwen2vl: 28 layers, 3584 wide, 4 KV heads) + f16 mmproj (2.64 GB), n_ctx 8192
    const GB = 1024 ** 3;
    const metadata = new Map<string, number>(Object.entries({ block_count: 28, embedding_length: 3584, 'attention.head_count': 28, 'attention.head_count_kv': 4 }).map(([k, v]) => [`qwen2vl.${k}`, v]));
    const omniText: GgufSummary = { file: 'omni.gguf', fileSize: 4.68 * GB, version: 3, architecture: 'qwen2vl', name: 'omni', metadata, tensors: [], dataOffset: 0, tensorBytes: 4.68 * GB };
    const base = configFromObject({ models: { omni: { backend: 'llama', gguf_file: 'x.gguf', context_length: 8192 } } }, 'test').models.omni;
    if (!base) throw new Error('omni');
    const omniMb = estimateMultimodalMb(base, omniText, 2.64 * GB);
    expect(omniMb).toBeGreaterThan(7_800);
    const m = manager(
      {
        omni: mm({ max_memory_mb: omniMb, auto_unload: false, warm_up: true }),
        tiny: { backend: 'llama', gguf_file: text, context_length: 256, max_memory_mb: 800 }, // LFM2-1.2B Q4_K_M + 4k KV
        embedding: { backend: 'llama', gguf_file: text, context_length: 256, max_memory_mb: 400 }, // EmbeddingGemma-300m
        vision: mm({ max_memory_mb: 600 }), // LFM2-VL-450M + mmproj
        big: mm({ max_memory_mb: 5_000 }),
      },
      { budget_mb: 12_000, hard_limit_mb: 16_000 },
    );
    await m.start();
    expect(loaded(m)).toEqual(['omni']);
    await m.managed('tiny')?.start();
    await m.managed('embedding')?.start();
    await host(m, 'vision').start();
    expect(loaded(m)).toEqual(['embedding', 'omni', 'tiny', 'vision']);
    expect(m.usedMb()).toBe(omniMb + 800 + 400 + 600);
    expect(m.usedMb()).toBeLessThanOrEqual(12_000);
    expect(m.info().find((i) => i.role === 'omni')?.pinned).toBe(true);
    // 5 GB more cannot fit beside the pinned omni, even after evicting every unpinned role
    const err = await host(m, 'big').start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect((err as Error).message).toMatch(/big: needs ~5000 MB but only \d+ MB of memory.budget_mb \(12000 MB\) can be freed; held by omni ~\d+ MB \(pinned\)/);
    expect(loaded(m)).toContain('omni');
  }, 180_000);

  it('the bridge registry serves the manager-owned instance (one model host), loaded by warm_up', async () => {
    const config = configFromObject({ models_dir: tmp.dir, runtime: { threads: 1 }, models: { vision: mm({ warm_up: true }) } }, 'test');
    const layer = createModelLayer(config, tmp.dir, silentLog, undefined, { baseDir: tmp.dir });
    await startModelLayer(layer);
    try {
      const entry = layer.backends.get('vision');
      expect(entry?.external).toBe(true);
      expect(entry?.backend).toBe(layer.manager?.managed('vision'));
      expect(layer.manager?.info().find((i) => i.role === 'vision')?.loaded).toBe(true);
    } finally {
      await stopModelLayer(layer);
    }
  }, 120_000);
});
