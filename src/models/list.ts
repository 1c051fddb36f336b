import { existsSync, statSync } from 'node:fs';
import type { Config } from '../config/schema/index.js';
import { errorMessage } from '../core/errors.js';
import { sha256File } from './download.js';
import { preflightGguf } from './gguf-preflight.js';
import type { ModelInfo, ModelManager } from './manager.js';
import { estimateModelMb, summaryForEstimate } from './memory-estimate.js';
import { resolveModelPath } from './paths.js';

export interface ModelListRow {
  role: string;
  name: string;
  backend: string;
  enabled: boolean;
  file: string;
  /** bytes on disk (0 when absent or not a file role) */
  sizeBytes: number;
  present: boolean;
  loaded: boolean;
  /** estimated MB when loaded */
  memoryMb: number;
  pinned: boolean;
}

/** `sarai models list`: every role with its file, size, presence, load state and memory estimate. */
export function modelsList(config: Config, baseDir: string, manager?: ModelManager): ModelListRow[] {
  const live = new Map<string, ModelInfo>((manager?.info() ?? []).map((i) => [i.role, i]));
  return Object.entries(config.models).map(([role, spec]) => {
    const file = spec.backend === 'llama' ? (resolveModelPath(config, baseDir, spec) ?? '') : spec.model || spec.url;
    const present = spec.backend === 'llama' ? file !== '' && existsSync(file) : true;
    const sizeBytes = spec.backend === 'llama' && present ? statSync(file).size : 0;
    const memoryMb = live.get(role)?.estimatedMb ?? (spec.backend === 'llama' ? estimateModelMb(role, spec, summaryForEstimate(file)) : spec.max_memory_mb);
    return { role, name: spec.name || role, backend: spec.backend, enabled: spec.enabled, file, sizeBytes, present, loaded: live.get(role)?.loaded ?? false, memoryMb, pinned: !spec.auto_unload };
  });
}

/** A plain-text table of modelsList rows (for the CLI). */
export function formatModelsList(rows: ModelListRow[]): string {
  const head = ['ROLE', 'BACKEND', 'FILE / MODEL', 'SIZE', 'PRESENT', 'LOADED', 'MEMORY'];
  const body = rows.map((r) => [
    r.enabled ? r.role : `${r.role} (off)`,
    r.backend,
    r.file || '-',
    r.sizeBytes ? `${(r.sizeBytes / 1_048_576).toFixed(1)} MB` : '-',
    r.present ? 'yes' : 'no',
    r.loaded ? 'yes' : 'no',
    `${r.memoryMb} MB${r.pinned ? ' (pinned)' : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  return [head, ...body].map((row) => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export interface VerifyResult {
  role: string;
  file: string;
  ok: boolean;
  /** what is wrong (empty when ok) */
  problems: string[];
  /** computed when the role configures sha256 */
  sha256?: string;
}

/**
 * `sarai models verify [roles...]`: for llama roles, the file exists, passes GGUF preflight,
 * and matches the configured sha256. Other roles are skipped.
 */
export async function modelsVerify(config: Config, baseDir: string, roles?: string[]): Promise<VerifyResult[]> {
  const out: VerifyResult[] = [];
  for (const [role, spec] of Object.entries(config.models)) {
    if (roles?.length ? !roles.includes(role) : !spec.enabled) continue;
    if (spec.backend !== 'llama') continue;
    const file = resolveModelPath(config, baseDir, spec) ?? '';
    const problems: string[] = [];
    let sha256: string | undefined;
    if (!file) problems.push(`models.${role}.gguf_file is empty`);
    else if (!existsSync(file)) problems.push(`${file}: missing (run \`sarai models pull ${role}\`)`);
    else {
      try {
        preflightGguf(file);
      } catch (err) {
        problems.push(errorMessage(err));
      }
      if (spec.sha256) {
        sha256 = await sha256File(file);
        if (sha256 !== spec.sha256.toLowerCase()) problems.push(`${file}: sha256 ${sha256} does not match models.${role}.sha256 ${spec.sha256}`);
      }
    }
    out.push({ role, file, ok: problems.length === 0, problems, ...(sha256 ? { sha256 } : {}) });
  }
  for (const r of roles ?? []) if (!(r in config.models)) out.push({ role: r, file: '', ok: false, problems: [`no role "${r}" in models:`] });
  return out;
}
