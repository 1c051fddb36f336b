import { existsSync } from 'node:fs';
import type { ModelConfig } from '../config/schema/index.js';
import { metaNumber, preflightGguf, type GgufSummary } from './gguf-preflight.js';

const MB = 1_048_576;
/** Compute buffers and runtime overhead llama.cpp adds on top of weights and KV cache (MB). */
const OVERHEAD_MB = 16;

/**
 * Bytes of KV cache for `contextTokens` tokens in total (all sequences), from the GGUF
 * metadata: 2 (K and V) x layers x tokens x kv-heads x head size x 2 bytes (f16 cache).
 */
export function kvCacheBytes(s: GgufSummary, contextTokens: number): number {
  const a = s.architecture;
  const layers = metaNumber(s, `${a}.block_count`) ?? 0;
  const embd = metaNumber(s, `${a}.embedding_length`) ?? 0;
  const heads = metaNumber(s, `${a}.attention.head_count`) ?? 1;
  const kvHeads = metaNumber(s, `${a}.attention.head_count_kv`) ?? heads;
  const keyLen = metaNumber(s, `${a}.attention.key_length`) ?? embd / Math.max(1, heads);
  const valueLen = metaNumber(s, `${a}.attention.value_length`) ?? keyLen;
  return layers * contextTokens * kvHeads * (keyLen + valueLen) * 2;
}

/** Embedding inputs are short (queries, exemplars): a small context keeps memory low (tokens). */
export function embeddingContextSize(spec: Pick<ModelConfig, 'context_length'>): number {
  return Math.min(spec.context_length, 2048);
}

/**
 * Memory a role needs when loaded (MB): file size + KV cache for context_length x concurrency
 * (the embedding role: one embedding context) (+ a fixed overhead), or the configured
 * max_memory_mb when that is larger. With no file summary (file missing), max_memory_mb alone.
 */
export function estimateModelMb(role: string, spec: ModelConfig, summary: GgufSummary | undefined): number {
  if (!summary) return spec.max_memory_mb;
  const tokens = role !== 'embedding' ? spec.context_length * spec.concurrency : embeddingContextSize(spec);
  const mb = (summary.fileSize + kvCacheBytes(summary, tokens)) / MB + OVERHEAD_MB;
  return Math.max(Math.ceil(mb), spec.max_memory_mb);
}

/** The GGUF summary an estimate needs; undefined when the file is missing or damaged (reported when it loads, or by `sarai models verify`). */
export function summaryForEstimate(file: string | undefined): GgufSummary | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    return preflightGguf(file);
  } catch {
    return undefined;
  }
}

/** libmtmd's own compute buffers for the projector's encoder graph on top of its weights (MB). */
const MTMD_OVERHEAD_MB = 64;

/**
 * Memory a multimodal role (GGUF + mmproj, src/backends/multimodal/) needs when loaded (MB):
 * the text model's estimate (weights + KV cache for context_length, one sequence) plus the
 * projector's file size and its compute buffers; max_memory_mb when larger.
 */
export function estimateMultimodalMb(spec: ModelConfig, text: GgufSummary | undefined, mmprojBytes: number | undefined): number {
  if (!text || mmprojBytes === undefined) return spec.max_memory_mb;
  const mb = (text.fileSize + kvCacheBytes(text, spec.context_length) + mmprojBytes) / MB + OVERHEAD_MB + MTMD_OVERHEAD_MB;
  return Math.max(Math.ceil(mb), spec.max_memory_mb);
}
