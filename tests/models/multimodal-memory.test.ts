import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import type { GgufSummary } from '../../src/models/gguf-preflight.js';
import { estimateModelMb, estimateMultimodalMb } from '../../src/models/memory-estimate.js';

const GB = 1024 ** 3;

/** A summary with the declared sizes and metadata of a published GGUF (no file needed). */
function declared(arch: string, fileBytes: number, meta: Record<string, number>): GgufSummary {
  const metadata = new Map<string, number>(Object.entries(meta).map(([k, v]) => [`${arch}.${k}`, v]));
  return { file: `${arch}.gguf`, fileSize: fileBytes, version: 3, architecture: arch, name: arch, metadata, tensors: [], dataOffset: 0, tensorBytes: fileBytes };
}

describe('memory estimate of the seed line-up with Omni-7B in process', () => {
  // Qwen2.5-Omni-7B: text GGUF Q4_K_M 4.68 GB (arch qwen2vl: 28 layers, 3584 wide, 28 heads, 4 KV heads),
  // mmproj f16 2.64 GB (vision + audio encoders); LFM2-1.2B Q4_K_M 0.73 GB; EmbeddingGemma-300m 0.33 GB
  const omniText = declared('qwen2vl', 4.68 * GB, { block_count: 28, embedding_length: 3584, 'attention.head_count': 28, 'attention.head_count_kv': 4 });
  const tiny = declared('lfm2', 0.73 * GB, { block_count: 16, embedding_length: 2048, 'attention.head_count': 32, 'attention.head_count_kv': 8 });
  const embedding = declared('gemma-embedding', 0.33 * GB, { block_count: 24, embedding_length: 768, 'attention.head_count': 3, 'attention.head_count_kv': 1, 'attention.key_length': 256 });
  const config = configFromObject(
    {
      models: {
        omni: { backend: 'llama', gguf_file: 'omni.gguf', mmproj_file: 'omni-mmproj.gguf', context_length: 8192, auto_unload: false, warm_up: true },
        tiny: { backend: 'llama', gguf_file: 'tiny.gguf', context_length: 4096 },
        embedding: { backend: 'llama', gguf_file: 'embedding.gguf' },
      },
    },
    'test',
  );
  const spec = (r: string) => {
    const s = config.models[r];
    if (!s) throw new Error(r);
    return s;
  };

  it('counts model + mmproj + an 8192-token context, and all in-process roles fit the 12 GB P99 and 16 GB hard limit', () => {
    const omni = estimateMultimodalMb(spec('omni'), omniText, 2.64 * GB);
    // KV: 2 x 28 layers x 8192 tokens x 4 heads x 128 x 2 bytes = 448 MB
    expect(omni).toBeGreaterThan((4.68 + 2.64) * 1024 + 448);
    expect(omni).toBeLessThan((4.68 + 2.64) * 1024 + 448 + 200);
    const total = omni + estimateModelMb('tiny', spec('tiny'), tiny) + estimateModelMb('embedding', spec('embedding'), embedding);
    expect(total).toBeLessThanOrEqual(12 * 1024);
    expect(total).toBeLessThanOrEqual(16 * 1024);
  });

  it('with no files yet, falls back to max_memory_mb', () => {
    expect(estimateMultimodalMb(spec('omni'), undefined, undefined)).toBe(spec('omni').max_memory_mb);
    expect(estimateMultimodalMb(spec('omni'), omniText, undefined)).toBe(spec('omni').max_memory_mb);
  });
});
