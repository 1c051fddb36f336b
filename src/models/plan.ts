import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkModelFolder, locateModel, requiredFiles, resolveTask } from '../backends/transformers/index.js';
import type { Config, ModelConfig } from '../config/schema/index.js';
import { errorMessage } from '../core/errors.js';
import { hubEndpoint, hubFileUrl, REPO_ID } from './hub.js';
import type { ModelManifest } from './manifest.js';
import { modelsDir, resolveMmprojPath, resolveModelPath } from './paths.js';

/** Backends whose models run inside this process and so have files SARAi fetches. */
export const IN_PROCESS_BACKENDS = ['llama', 'transformers'] as const;

/** One file a role needs on disk. */
export interface PlannedFile {
  role: string;
  kind: 'gguf' | 'mmproj' | 'folder-file';
  /** absolute destination */
  dest: string;
  /** hub repo and the file's path in it, when it comes from the hub */
  repo?: string;
  repoPath?: string;
  revision: string;
  /** where to fetch it; undefined when the config names no source */
  url?: string;
  /** pinned sha256 (config or manifest); empty: the hub's ETag is the check */
  sha256: string;
  /** bytes, from the manifest; 0 when unknown */
  size: number;
  present: boolean;
}

/** What one in-process role needs and whether it has it. */
export interface RolePlan {
  role: string;
  backend: string;
  enabled: boolean;
  /** a transformers.js model folder; undefined for GGUF roles */
  folder?: string;
  files: PlannedFile[];
  /** every file the role needs is in place (a folder: complete in some ONNX variant) */
  present: boolean;
  /** why it cannot be pulled (no repo id or URL), if so */
  problem?: string;
}

function repoFileName(file: string): string {
  return path.isAbsolute(file) ? path.basename(file) : file;
}

function llamaPlan(config: Config, baseDir: string, role: string, spec: ModelConfig, manifest: ModelManifest, endpoint: string): RolePlan {
  const files: PlannedFile[] = [];
  const problems: string[] = [];
  const add = (kind: 'gguf' | 'mmproj', dest: string | undefined, file: string, repo: string, url: string, pinned: string) => {
    if (!dest) return;
    const repoPath = repoFileName(file);
    const entry = repo ? manifest.file(repo, repoPath) : undefined;
    const revision = (repo && manifest.repo(repo)?.revision) || 'main';
    let source = url || undefined;
    if (!source && repo) {
      try {
        source = hubFileUrl(repo, repoPath, revision, endpoint);
      } catch (err) {
        problems.push(`${role}: ${errorMessage(err)}`);
      }
    }
    if (!source) problems.push(`${role}: no ${kind === 'gguf' ? 'gguf_repo_id or download_url' : 'mmproj_repo_id, gguf_repo_id or mmproj_download_url'} for ${path.basename(dest)}`);
    files.push({
      role,
      kind,
      dest,
      ...(repo && !url ? { repo, repoPath } : {}),
      revision,
      ...(source ? { url: source } : {}),
      sha256: (pinned || entry?.sha256 || '').toLowerCase(),
      size: entry?.size ?? 0,
      present: existsSync(dest),
    });
  };
  const gguf = resolveModelPath(config, baseDir, spec);
  if (!gguf) problems.push(`${role}: models.${role}.gguf_file is empty`);
  add('gguf', gguf, spec.gguf_file, spec.gguf_repo_id, spec.download_url, spec.sha256);
  add('mmproj', resolveMmprojPath(config, baseDir, spec), spec.mmproj_file, spec.mmproj_repo_id || spec.gguf_repo_id, spec.mmproj_download_url, spec.mmproj_sha256);
  return {
    role,
    backend: spec.backend,
    enabled: spec.enabled,
    files,
    present: files.length > 0 && files.every((f) => f.present),
    ...(problems.length ? { problem: problems.join('; ') } : {}),
  };
}

function folderPlan(config: Config, baseDir: string, role: string, spec: ModelConfig, manifest: ModelManifest, endpoint: string): RolePlan {
  const base = { role, backend: spec.backend, enabled: spec.enabled };
  const task = resolveTask(role, spec.task);
  let loc;
  try {
    loc = locateModel(role, spec, modelsDir(config, baseDir));
  } catch (err) {
    return { ...base, files: [], present: false, problem: errorMessage(err) };
  }
  if (!task) return { ...base, folder: loc.dir, files: [], present: false, problem: `${role}: no transformers.js task` };
  let present = false;
  try {
    checkModelFolder(role, task, loc);
    present = true;
  } catch {
    present = false;
  }
  const repo = [spec.model, spec.repo_id].find((id) => REPO_ID.test(id) && !path.isAbsolute(id));
  const entry = repo ? manifest.repo(repo) : undefined;
  // The manifest says which ONNX variant to fetch; otherwise the full-precision names the task needs.
  const need = requiredFiles(task, undefined, loc.id);
  const wanted = entry?.files ?? [...need.json, ...need.onnx.map((f) => `onnx/${f}.onnx`)].map((p) => ({ path: p, sha256: '', size: 0 }));
  const revision = entry?.revision ?? 'main';
  const files = wanted.map(
    (f): PlannedFile => ({
      role,
      kind: 'folder-file',
      dest: path.join(loc.dir, ...f.path.split('/')),
      ...(repo ? { repo, repoPath: f.path, url: hubFileUrl(repo, f.path, revision, endpoint) } : {}),
      revision,
      sha256: f.sha256,
      size: f.size,
      present: existsSync(path.join(loc.dir, ...f.path.split('/'))),
    }),
  );
  return {
    ...base,
    folder: loc.dir,
    files,
    present,
    ...(repo ? {} : { problem: `${role}: ${loc.id} is not a hub repo id (owner/name): place the model folder at ${loc.dir} yourself` }),
  };
}

/**
 * The files every in-process role needs (GGUF, mmproj, transformers.js folder files), where
 * they go, where they come from, and whether they are there. `roles` limits it (all roles,
 * enabled or not, may be named); otherwise the enabled in-process roles.
 */
export function pullPlan(config: Config, baseDir: string, manifest: ModelManifest, roles?: string[], endpoint: string = hubEndpoint()): RolePlan[] {
  const out: RolePlan[] = [];
  for (const [role, spec] of Object.entries(config.models)) {
    if (roles?.length ? !roles.includes(role) : !spec.enabled) continue;
    if (spec.backend === 'llama') out.push(llamaPlan(config, baseDir, role, spec, manifest, endpoint));
    else if (spec.backend === 'transformers') out.push(folderPlan(config, baseDir, role, spec, manifest, endpoint));
  }
  return out;
}

/** The files still to fetch: every missing file of a role that is not complete. */
export function missingFiles(plans: RolePlan[]): PlannedFile[] {
  return plans.filter((p) => !p.present).flatMap((p) => p.files.filter((f) => !f.present));
}
