import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema/index.js';
import { errorMessage } from '../core/errors.js';
import { sha256File } from './download.js';
import { preflightGguf } from './gguf-preflight.js';
import type { ModelInfo, ModelManager } from './manager.js';
import { estimateModelMb, summaryForEstimate } from './memory-estimate.js';
import { loadManifest, type ModelManifest } from './manifest.js';
import { modelsDir } from './paths.js';
import { pullPlan } from './plan.js';
import { verifiedEntry } from './verified.js';

export interface ModelListRow {
  role: string;
  name: string;
  backend: string;
  enabled: boolean;
  /** GGUF path, transformers.js folder, or the server model/URL */
  file: string;
  /** the mmproj beside the GGUF, when the role has one */
  mmproj?: string;
  /** bytes on disk of every file the role needs (0 when absent or not in process) */
  sizeBytes: number;
  /** in-process roles: every file is there (a folder: complete); other backends: null (nothing local) */
  present: boolean | null;
  loaded: boolean;
  /** estimated MB when loaded */
  memoryMb: number;
  pinned: boolean;
}

/** `sarai models list`: every role with its files, size, presence, load state and memory estimate. */
export function modelsList(config: Config, baseDir: string, manager?: ModelManager, manifest: ModelManifest = loadManifest()): ModelListRow[] {
  const live = new Map<string, ModelInfo>((manager?.info() ?? []).map((i) => [i.role, i]));
  const plans = new Map(pullPlan(config, baseDir, manifest, Object.keys(config.models)).map((p) => [p.role, p]));
  return Object.entries(config.models).map(([role, spec]) => {
    const plan = plans.get(role);
    const gguf = plan?.files.find((f) => f.kind === 'gguf');
    const mmproj = plan?.files.find((f) => f.kind === 'mmproj');
    const file = plan ? (plan.folder ?? gguf?.dest ?? '') : spec.model || spec.url;
    const sizeBytes = plan ? onDiskBytes(plan.folder ? [plan.folder] : plan.files.map((f) => f.dest)) : 0;
    const memoryMb = live.get(role)?.estimatedMb ?? (spec.backend === 'llama' ? estimateModelMb(role, spec, summaryForEstimate(gguf?.dest)) : spec.max_memory_mb);
    return {
      role,
      name: spec.name || role,
      backend: spec.backend,
      enabled: spec.enabled,
      file,
      ...(mmproj ? { mmproj: mmproj.dest } : {}),
      sizeBytes,
      present: plan ? plan.present : null,
      loaded: live.get(role)?.loaded ?? false,
      memoryMb,
      pinned: !spec.auto_unload,
    };
  });
}

/** Bytes of the given files, or of every file under a folder (recursively); absent ones count 0. */
function onDiskBytes(paths: string[]): number {
  let n = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isFile()) n += st.size;
    else if (st.isDirectory()) n += onDiskBytes(readdirSync(p).map((e) => path.join(p, e)));
  }
  return n;
}

/** A plain-text table of modelsList rows (for the CLI). */
export function formatModelsList(rows: ModelListRow[]): string {
  const head = ['ROLE', 'BACKEND', 'FILE / MODEL', 'SIZE', 'PRESENT', 'LOADED', 'MEMORY'];
  const body = rows.map((r) => [
    r.enabled ? r.role : `${r.role} (off)`,
    r.backend,
    (r.file || '-') + (r.mmproj ? ` + ${path.basename(r.mmproj)}` : ''),
    r.sizeBytes ? `${(r.sizeBytes / 1_048_576).toFixed(1)} MB` : '-',
    r.present === null ? '-' : r.present ? 'yes' : 'no',
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
  /** computed for the GGUF when a sha256 is known for it (pinned or recorded at pull) */
  sha256?: string;
  /** files whose sha256 was checked, and against what */
  checked: { file: string; against: 'pinned' | 'hub-etag' }[];
  /** files present but with no known sha256 (pulled by hand, or the hub gave none) */
  unchecked: string[];
}

/**
 * `sarai models verify [roles...]`: for every in-process role, each file (GGUF, mmproj,
 * transformers.js folder files) exists, a GGUF passes preflight, and each file matches its
 * pinned sha256 (config, manifest), else the sha256 the hub vouched for when it was pulled.
 */
export async function modelsVerify(config: Config, baseDir: string, roles?: string[], manifest: ModelManifest = loadManifest()): Promise<VerifyResult[]> {
  const out: VerifyResult[] = [];
  const dir = modelsDir(config, baseDir);
  for (const plan of pullPlan(config, baseDir, manifest, roles)) {
    const problems: string[] = [];
    const checked: VerifyResult['checked'] = [];
    const unchecked: string[] = [];
    let sha256: string | undefined;
    const gguf = plan.files.find((f) => f.kind === 'gguf');
    if (plan.backend === 'llama' && !gguf) problems.push(`models.${plan.role}.gguf_file is empty`);
    if (plan.folder && !plan.present) {
      problems.push(`${plan.folder}: ${existsSync(plan.folder) ? 'incomplete' : 'missing'} (run \`sarai models pull ${plan.role}\`)`);
    }
    for (const f of plan.files) {
      if (!existsSync(f.dest)) {
        // a folder complete in another ONNX variant does not need the manifest's variant
        if (!plan.folder) problems.push(`${f.dest}: missing (run \`sarai models pull ${plan.role}\`)`);
        continue;
      }
      if (f.kind === 'gguf') {
        try {
          preflightGguf(f.dest);
        } catch (err) {
          problems.push(errorMessage(err));
        }
      }
      const recorded = verifiedEntry(dir, f.dest);
      const expected = f.sha256 || recorded?.sha256;
      if (!expected) {
        unchecked.push(f.dest);
        continue;
      }
      const actual = await sha256File(f.dest);
      if (f.kind === 'gguf') sha256 = actual;
      const against = f.sha256 ? 'pinned' : (recorded?.source ?? 'hub-etag');
      if (actual !== expected) {
        problems.push(`${f.dest}: sha256 ${actual} does not match ${against === 'pinned' ? 'the pinned sha256' : "the hub's sha256 recorded at pull"} ${expected}`);
      } else checked.push({ file: f.dest, against });
    }
    if (plan.problem && !plan.present) problems.push(plan.problem);
    out.push({ role: plan.role, file: plan.folder ?? gguf?.dest ?? '', ok: problems.length === 0, problems, ...(sha256 ? { sha256 } : {}), checked, unchecked });
  }
  for (const r of roles ?? []) if (!(r in config.models)) out.push({ role: r, file: '', ok: false, problems: [`no role "${r}" in models:`], checked: [], unchecked: [] });
  return out;
}
