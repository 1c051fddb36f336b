import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { LLAMA_ARCHITECTURES } from './llama-architectures.js';
import { InputError } from '../core/errors.js';

/**
 * Checks a GGUF file before llama.cpp sees it: llama.cpp aborts the whole process (SIGABRT,
 * exit 134) on some malformed files, which JavaScript cannot catch. Our own bounds-checked
 * parser reads the header, every metadata value and every tensor info, and checks that all
 * tensor data lies inside the file. Failures throw GgufPreflightError naming file and problem.
 */

export class GgufPreflightError extends InputError {
  override readonly name: string = 'GgufPreflightError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface GgufTensorSummary {
  name: string;
  dims: number[];
  type: number;
  /** bytes of tensor data */
  bytes: number;
}

export interface GgufSummary {
  file: string;
  /** bytes */
  fileSize: number;
  version: number;
  architecture: string;
  name: string;
  /** key -> value; arrays are summarized by their length only (vocabularies are large). */
  metadata: Map<string, string | number | boolean | bigint | { arrayLength: number }>;
  tensors: GgufTensorSummary[];
  /** byte offset of the tensor data section */
  dataOffset: number;
  /** bytes of all tensors */
  tensorBytes: number;
}

/** [elements per block, bytes per block] for ggml tensor types llama.cpp 3.21.1 can load. */
const GGML_TYPES: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110],
  22: [256, 82], 23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8],
  29: [256, 56], 30: [1, 2], 34: [256, 54], 35: [256, 66], 39: [32, 17],
};

export const SUPPORTED_ARCHITECTURES: ReadonlySet<string> = new Set(LLAMA_ARCHITECTURES);

const MAX_TENSORS = 1_000_000;
const MAX_KV = 100_000;
const MAX_STRING = 64 * 1024 * 1024;
const MAX_ARRAY = 50_000_000;

/** Thrown inside the parser when the buffer ends early; the caller reads more and retries. */
class NeedMore extends Error {}

class Cursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    /** true when buf holds the whole file */
    private readonly complete: boolean,
    private readonly fail: (problem: string) => never,
  ) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      if (this.complete) this.fail(`truncated: the header needs more bytes than the file has (at byte ${this.pos})`);
      throw new NeedMore();
    }
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /** A u64 that must fit in a safe JS number and stay under `max`. */
  count(what: string, max: number): number {
    const v = this.u64();
    if (v > BigInt(max)) this.fail(`${what} is ${v} (over ${max}): the header is damaged`);
    return Number(v);
  }
  str(what: string): string {
    const n = this.count(`length of ${what}`, MAX_STRING);
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** llama.cpp asserts (aborts) on a vocabulary with duplicate tokens: a one-bit flip in a token makes one. */
  uniqueStrings(what: string, n: number): void {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const s = this.str(`${what}[${i}]`);
      const first = seen.get(s);
      if (first !== undefined) this.fail(`${what}: token #${i} ${JSON.stringify(s)} repeats token #${first}; the vocabulary is damaged`);
      seen.set(s, i);
    }
    // SentencePiece vocabularies look up byte tokens by name ("<0x0A>"); a partial set aborts llama.cpp
    let bytes = 0;
    for (let b = 0; b < 256; b++) if (seen.has(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)) bytes++;
    if (bytes > 0 && bytes < 256) this.fail(`${what}: ${bytes} of the 256 byte-fallback tokens (<0x00>..<0xFF>); the vocabulary is damaged`);
  }
  read(type: number, what: string): string | number | boolean | bigint | { arrayLength: number } {
    switch (type) {
      case 0: return this.u8();
      case 1: this.need(1); return this.buf.readInt8(this.pos++);
      case 2: this.need(2); this.pos += 2; return this.buf.readUInt16LE(this.pos - 2);
      case 3: this.need(2); this.pos += 2; return this.buf.readInt16LE(this.pos - 2);
      case 4: return this.u32();
      case 5: this.need(4); this.pos += 4; return this.buf.readInt32LE(this.pos - 4);
      case 6: this.need(4); this.pos += 4; return this.buf.readFloatLE(this.pos - 4);
      case 7: {
        const b = this.u8();
        if (b > 1) this.fail(`${what}: boolean value ${b}`);
        return b === 1;
      }
      case 8: return this.str(what);
      case 9: {
        const elemType = this.u32();
        const n = this.count(`${what} array length`, MAX_ARRAY);
        if (elemType === 9) this.fail(`${what}: nested arrays are not supported`);
        const fixed = FIXED_SIZES[elemType];
        if (fixed !== undefined) this.skip(fixed * n);
        else if (elemType === 8 && what === 'tokenizer.ggml.tokens') this.uniqueStrings(what, n);
        else if (elemType === 8) for (let i = 0; i < n; i++) this.str(`${what}[${i}]`);
        else this.fail(`${what}: unknown array element type ${elemType}`);
        return { arrayLength: n };
      }
      case 10: return this.u64();
      case 11: this.need(8); this.pos += 8; return this.buf.readBigInt64LE(this.pos - 8);
      case 12: this.need(8); this.pos += 8; return this.buf.readDoubleLE(this.pos - 8);
      default: return this.fail(`${what}: unknown metadata value type ${type}`);
    }
  }
}
const FIXED_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

function parse(file: string, buf: Buffer, fileSize: number): GgufSummary {
  const fail = (problem: string): never => {
    throw new GgufPreflightError(file, problem);
  };
  const c = new Cursor(buf, buf.length >= fileSize, fail);
  if (fileSize < 24) fail(`too small to be a GGUF model (${fileSize} bytes)`);
  const magic = buf.toString('latin1', 0, 4);
  if (magic !== 'GGUF') fail(`not a GGUF file (starts with ${JSON.stringify(magic)}, expected "GGUF")`);
  c.pos = 4;
  const version = c.u32();
  if (version !== 2 && version !== 3) fail(`unsupported GGUF version ${version} (2 or 3 expected)`);
  const tensorCount = c.count('tensor count', MAX_TENSORS);
  const kvCount = c.count('metadata key count', MAX_KV);
  const metadata: GgufSummary['metadata'] = new Map();
  for (let i = 0; i < kvCount; i++) {
    const key = c.str(`metadata key #${i}`);
    if (!/^[\x20-\x7e]+$/.test(key)) fail(`metadata key #${i} is not printable ASCII: the header is damaged`);
    const type = c.u32();
    metadata.set(key, c.read(type, key));
  }
  const arch = metadata.get('general.architecture');
  if (typeof arch !== 'string') fail('missing metadata general.architecture');
  const architecture = arch as string;
  if (!SUPPORTED_ARCHITECTURES.has(architecture)) fail(`architecture "${architecture}" is not supported by this llama.cpp build`);
  for (const key of [`${architecture}.block_count`, `${architecture}.embedding_length`]) {
    if (typeof metadata.get(key) !== 'number') fail(`missing metadata ${key}`);
  }
  const tokens = metadata.get('tokenizer.ggml.tokens');
  if (typeof metadata.get('tokenizer.ggml.model') !== 'string' || typeof tokens !== 'object' || tokens === null || !('arrayLength' in tokens)) {
    fail('missing tokenizer metadata (tokenizer.ggml.model / tokenizer.ggml.tokens)');
  }
  const alignmentValue = metadata.get('general.alignment') ?? 32;
  const alignment = typeof alignmentValue === 'number' ? alignmentValue : 0;
  if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) fail(`general.alignment ${String(alignmentValue)} is not a power of two`);

  const tensors: GgufTensorSummary[] = [];
  const infos: { offset: bigint; bytes: number; name: string }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str(`tensor #${i} name`);
    if (names.has(name)) fail(`tensor "${name}" appears twice`);
    names.add(name);
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) fail(`tensor "${name}" has ${nDims} dimensions (1-4 expected)`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = c.count(`tensor "${name}" dimension`, 2 ** 40);
      if (dim === 0) fail(`tensor "${name}" has a zero dimension`);
      dims.push(dim);
      elements *= dim;
    }
    const type = c.u32();
    const t = GGML_TYPES[type];
    if (!t) fail(`tensor "${name}" has unknown ggml type ${type}`);
    const [block, blockBytes] = t as [number, number];
    if ((dims[0] ?? 0) % block !== 0) fail(`tensor "${name}": row of ${dims[0]} is not a multiple of the type's block (${block})`);
    const bytes = (elements / block) * blockBytes;
    if (!Number.isSafeInteger(bytes)) fail(`tensor "${name}" is impossibly large`);
    const offset = c.u64();
    if (offset % BigInt(alignment) !== 0n) fail(`tensor "${name}" data offset ${offset} is not aligned to ${alignment}`);
    tensors.push({ name, dims, type, bytes });
    infos.push({ offset, bytes, name });
  }
  if (tensorCount === 0) fail('has no tensors');
  checkShapes(metadata, tensors, architecture, fail);
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  let tensorBytes = 0;
  for (const t of infos) {
    const end = BigInt(dataOffset) + t.offset + BigInt(t.bytes);
    if (end > BigInt(fileSize)) {
      fail(`truncated: tensor "${t.name}" ends at byte ${end} but the file has ${fileSize} bytes`);
    }
    tensorBytes += t.bytes;
  }
  const nameValue = metadata.get('general.name');
  return {
    file,
    fileSize,
    version,
    architecture,
    name: typeof nameValue === 'string' ? nameValue : path.basename(file),
    metadata,
    tensors,
    dataOffset,
    tensorBytes,
  };
}

/** Cross-checks llama.cpp asserts on rather than reports: vocabulary and embedding sizes. */
function checkShapes(metadata: GgufSummary['metadata'], tensors: GgufTensorSummary[], arch: string, fail: (p: string) => never): void {
  const len = (key: string): number | undefined => {
    const v = metadata.get(key);
    return typeof v === 'object' && v !== null && 'arrayLength' in v ? v.arrayLength : undefined;
  };
  const nVocab = len('tokenizer.ggml.tokens');
  for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const n = len(key);
    if (n !== undefined && n !== nVocab) fail(`${key} has ${n} entries but the vocabulary has ${nVocab}`);
  }
  const num = (key: string): number | undefined => {
    const v = metadata.get(`${arch}.${key}`);
    return typeof v === 'number' ? v : undefined;
  };
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const nEmbd = num('embedding_length') ?? 0;
  const nLayer = num('block_count') ?? 0;
  if (nLayer < 1 || nLayer > MAX_LAYERS) fail(`${arch}.block_count is ${nLayer} (1-${MAX_LAYERS} expected)`);
  if (nEmbd < 1) fail(`${arch}.embedding_length is ${nEmbd}`);
  const ctx = num('context_length');
  if (ctx !== undefined && ctx < 1) fail(`${arch}.context_length is ${ctx}`);
  const blocks = new Set(tensors.map((t) => /^blk\.(\d+)\./.exec(t.name)?.[1]).filter((b): b is string => b !== undefined));
  if (blocks.size > 0 && blocks.size !== nLayer) fail(`${arch}.block_count is ${nLayer} but the file has tensors for ${blocks.size} blocks`);
  const embd = byName.get('token_embd.weight');
  if (embd) {
    if (embd.dims[0] !== nEmbd) fail(`token_embd.weight rows are ${embd.dims[0]} wide but ${arch}.embedding_length is ${nEmbd}`);
    if (nVocab !== undefined && embd.dims[1] !== nVocab) fail(`token_embd.weight has ${embd.dims[1]} rows but the vocabulary has ${nVocab} tokens`);
  }
  // attention and feed-forward sizes (llama-shaped blocks: most text architectures)
  // a damaged key name reads as a missing key; llama.cpp then builds zero-sized tensors and aborts
  if (byName.has('blk.0.attn_q.weight') && num('attention.head_count') === undefined) fail(`missing metadata ${arch}.attention.head_count`);
  if (byName.has('blk.0.ffn_up.weight') && num('feed_forward_length') === undefined) fail(`missing metadata ${arch}.feed_forward_length`);
  const heads = num('attention.head_count');
  const kvHeads = num('attention.head_count_kv') ?? heads;
  if (heads !== undefined) {
    if (heads < 1 || heads > nEmbd) fail(`${arch}.attention.head_count is ${heads}`);
    if (kvHeads === undefined || kvHeads < 1 || kvHeads > heads) fail(`${arch}.attention.head_count_kv is ${String(kvHeads)} (1-${heads} expected)`);
  }
  const headDim = num('attention.key_length') ?? (heads ? nEmbd / heads : undefined);
  const q = byName.get('blk.0.attn_q.weight');
  const k = byName.get('blk.0.attn_k.weight');
  if (q && heads !== undefined && headDim !== undefined && q.dims[1] !== heads * headDim) {
    fail(`blk.0.attn_q.weight has ${q.dims[1]} outputs but ${arch}.attention.head_count x head size is ${heads * headDim}`);
  }
  if (k && kvHeads !== undefined && headDim !== undefined && k.dims[1] !== kvHeads * headDim) {
    fail(`blk.0.attn_k.weight has ${k.dims[1]} outputs but ${arch}.attention.head_count_kv x head size is ${kvHeads * headDim}`);
  }
  const rope = num('rope.dimension_count');
  if (rope !== undefined && headDim !== undefined && (rope < 1 || rope > headDim)) fail(`${arch}.rope.dimension_count is ${rope} (1-${headDim} expected)`);
  const ff = num('feed_forward_length');
  const up = byName.get('blk.0.ffn_up.weight');
  if (up && ff !== undefined && up.dims[1] !== ff) fail(`blk.0.ffn_up.weight has ${up.dims[1]} outputs but ${arch}.feed_forward_length is ${ff}`);
}
/** llama.cpp's LLAMA_MAX_LAYERS: more aborts the process. */
const MAX_LAYERS = 512;

/**
 * Validates `file` (bytes read: the header only, growing from 1 MB as needed). Throws
 * GgufPreflightError (an InputError) with a message naming the file and the problem.
 */
export function preflightGguf(file: string): GgufSummary {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new GgufPreflightError(file, 'is not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof GgufPreflightError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new GgufPreflightError(file, code === 'ENOENT' ? 'model file not found' : `cannot read: ${code ?? String(err)}`);
  }
  const fd = openSync(file, 'r');
  try {
    for (let want = Math.min(size, 1 << 20); ; want = Math.min(size, want * 4)) {
      const buf = Buffer.alloc(want);
      const got = readSync(fd, buf, 0, want, 0);
      try {
        return parse(file, buf.subarray(0, got), size);
      } catch (err) {
        if (!(err instanceof NeedMore) || want >= size) throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a number from metadata, or undefined. */
export function metaNumber(s: GgufSummary, key: string): number | undefined {
  const v = s.metadata.get(key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}
