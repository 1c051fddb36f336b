import path from 'node:path';
import { addSemanticCheck } from '../config/semantics.js';
import type { Config, ModelConfig } from '../config/schema/index.js';
import { statSync } from 'node:fs';
import { estimateModelMb, estimateMultimodalMb, summaryForEstimate } from './memory-estimate.js';

/** Backends whose memory is on this machine: in-process ones, and servers on loopback. */
function runsHere(spec: ModelConfig): boolean {
  if (spec.backend === 'llama' || spec.backend === 'transformers') return true;
  if (spec.backend === 'openai' || spec.backend === 'ollama') return /^[a-z]+:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:|\/|$)/i.test(spec.url);
  return false;
}

/** MB a pinned role holds: max_memory_mb, or the GGUF estimate when its file is given by absolute path and larger. */
function pinnedMb(spec: ModelConfig, role: string): number {
  if (spec.backend === 'llama' && spec.mmproj_file && path.isAbsolute(spec.gguf_file) && path.isAbsolute(spec.mmproj_file)) {
    let mmproj: number | undefined;
    try {
      mmproj = statSync(spec.mmproj_file).size;
    } catch {
      mmproj = undefined;
    }
    return estimateMultimodalMb(spec, summaryForEstimate(spec.gguf_file), mmproj);
  }
  if (spec.backend === 'llama' && path.isAbsolute(spec.gguf_file)) return estimateModelMb(role, spec, summaryForEstimate(spec.gguf_file));
  return spec.max_memory_mb;
}

/**
 * check-config rule: pinned models (enabled, auto_unload: false, memory on this machine) can
 * never be evicted, so together they must fit memory.budget_mb.
 */
export function pinnedBudgetProblems(config: Config): string[] {
  const pinned = Object.entries(config.models).filter(([, m]) => m.enabled && !m.auto_unload && runsHere(m));
  const parts = pinned.map(([role, m]) => ({ role, mb: pinnedMb(m, role) }));
  const total = parts.reduce((n, p) => n + p.mb, 0);
  if (total <= config.memory.budget_mb) return [];
  const list = parts.map((p) => `${p.role} ${p.mb} MB`).join(', ');
  return [`memory.budget_mb: pinned models (auto_unload: false) need ${total} MB (${list}), more than the budget of ${config.memory.budget_mb} MB`];
}

let registered = false;
/** Adds the rule to checkSemantics (idempotent). */
export function registerBudgetCheck(): void {
  if (registered) return;
  registered = true;
  addSemanticCheck(pinnedBudgetProblems);
}
registerBudgetCheck();
