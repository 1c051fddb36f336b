import * as llamaCpp from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { LLAMA_ARCHITECTURES } from '../../src/models/llama-architectures.js';

describe('supported GGUF architectures', () => {
  it('match the pinned node-llama-cpp exactly', () => {
    // a const enum in the typings, a plain object at runtime
    const live = Object.values((llamaCpp as unknown as { GgufArchitectureType: Record<string, string> }).GgufArchitectureType);
    expect([...LLAMA_ARCHITECTURES].sort()).toEqual([...live].sort());
    for (const seed of ['llama', 'lfm2', 'gemma-embedding', 'qwen2vl']) expect(LLAMA_ARCHITECTURES).toContain(seed);
  });
});
