import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema/index.js';
import { InputError } from '../core/errors.js';
import { ID_PATTERN } from '../config/schema/index.js';
import type { Logger } from '../log/logger.js';
import { downloadFile, type DownloadResult } from './download.js';
import { modelsDir, resolveModelPath } from './paths.js';
import { progressReporter } from './progress.js';

/** A file name we are willing to create in the models folder (no folders, no traversal). */
const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.gguf$/;
const HF_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface PullSource {
  url: string;
  /** absolute destination path */
  dest: string;
  sha256?: string;
  /** the role it was resolved from, if any */
  role?: string;
}

/** `hf:owner/repo/path/file.gguf` -> https://huggingface.co/owner/repo/resolve/main/path/file.gguf */
export function hfUrl(ref: string): { url: string; file: string } {
  const parts = ref.replace(/^hf:/, '').split('/');
  if (parts.length < 3 || !parts.every((p) => HF_SEGMENT.test(p))) {
    throw new InputError(`"${ref}" is not hf:owner/repo/file.gguf`);
  }
  const [owner, repo, ...rest] = parts as [string, string, ...string[]];
  const file = rest.at(-1) ?? '';
  if (!SAFE_FILE.test(file)) throw new InputError(`"${ref}": only .gguf files can be pulled`);
  return { url: `https://huggingface.co/${owner}/${repo}/resolve/main/${rest.map(encodeURIComponent).join('/')}`, file };
}

/**
 * What `sarai models pull <target>` fetches: a role (its download_url, or gguf_repo_id +
 * gguf_file on Hugging Face; into its gguf_file path), `hf:owner/repo/file.gguf`, or an
 * http(s) URL of a .gguf (into the models folder under its own name).
 */
export function resolvePullSource(config: Config, baseDir: string, target: string): PullSource {
  const dir = modelsDir(config, baseDir);
  if (target.startsWith('hf:')) {
    const { url, file } = hfUrl(target);
    return { url, dest: path.join(dir, file) };
  }
  if (/^https?:\/\//i.test(target)) {
    let u: URL;
    try {
      u = new URL(target);
    } catch {
      throw new InputError(`"${target}" is not a valid URL`);
    }
    const file = decodeURIComponent(u.pathname.split('/').pop() ?? '');
    if (!SAFE_FILE.test(file)) throw new InputError(`"${target}": the URL must end in a .gguf file name`);
    return { url: u.toString(), dest: path.join(dir, file) };
  }
  if (!new RegExp(ID_PATTERN).test(target)) throw new InputError(`"${target}" is not a role, hf:owner/repo/file.gguf or an http(s) URL`);
  const spec = config.models[target];
  if (!spec) throw new InputError(`no role "${target}" in models: (roles: ${Object.keys(config.models).join(', ')})`);
  if (spec.backend !== 'llama') throw new InputError(`role ${target} uses backend ${spec.backend}; only llama (GGUF) roles are pulled`);
  const dest = resolveModelPath(config, baseDir, spec);
  if (!dest) throw new InputError(`models.${target}.gguf_file is empty`);
  let url = spec.download_url;
  if (!url && spec.gguf_repo_id) url = hfUrl(`hf:${spec.gguf_repo_id}/${spec.gguf_file}`).url;
  if (!url) throw new InputError(`role ${target} has neither download_url nor gguf_repo_id: place ${path.basename(dest)} at ${dest} yourself`);
  return { url, dest, role: target, ...(spec.sha256 ? { sha256: spec.sha256 } : {}) };
}

export interface ModelsPullOptions {
  config: Config;
  baseDir: string;
  /** role | hf:owner/repo/file.gguf | http(s) URL */
  target: string;
  /** where progress goes (default process.stderr) */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
  /** pull again even if the file exists */
  force?: boolean;
}

/** `sarai models pull`: downloads with progress, resume and sha256 check. Explicit, so allow_downloads does not apply. */
export async function modelsPull(opts: ModelsPullOptions): Promise<DownloadResult & { skipped?: boolean }> {
  const src = resolvePullSource(opts.config, opts.baseDir, opts.target);
  if (!opts.force && existsSync(src.dest)) {
    return { file: src.dest, bytes: statSync(src.dest).size, sha256: '', resumedFrom: 0, skipped: true };
  }
  const out = opts.out ?? process.stderr;
  const progress = progressReporter(path.basename(src.dest), out);
  try {
    return await downloadFile({
      url: src.url,
      dest: src.dest,
      onProgress: progress.onProgress,
      ...(src.sha256 ? { sha256: src.sha256 } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } finally {
    progress.done();
  }
}

/**
 * At start: every enabled llama role whose file is missing is pulled when
 * runtime.allow_downloads is true (the registry's start-up check reports it otherwise). Never
 * throws; the bridge runs the roles it can. Returns the roles still missing.
 */
export async function pullMissingModels(config: Config, baseDir: string, log: Logger, signal?: AbortSignal): Promise<string[]> {
  const missing: string[] = [];
  for (const [role, spec] of Object.entries(config.models)) {
    if (!spec.enabled || spec.backend !== 'llama') continue;
    const dest = resolveModelPath(config, baseDir, spec);
    if (!dest || existsSync(dest)) continue;
    if (!config.runtime.allow_downloads) {
      // the backend registry's start-up check already says where to put it and how to pull it
      missing.push(role);
      continue;
    }
    try {
      const src = resolvePullSource(config, baseDir, role);
      log.info({ module: 'models', role, url: src.url, file: dest }, 'downloading missing model');
      let lastLogged = 0;
      const r = await downloadFile({
        url: src.url,
        dest,
        ...(src.sha256 ? { sha256: src.sha256 } : {}),
        ...(signal ? { signal } : {}),
        onProgress: (p) => {
          if (Date.now() - lastLogged < 10_000) return;
          lastLogged = Date.now();
          log.info({ module: 'models', role, mb: Math.round(p.received / 1_048_576), total_mb: p.total ? Math.round(p.total / 1_048_576) : undefined }, 'downloading');
        },
      });
      log.info({ module: 'models', role, file: r.file, bytes: r.bytes, sha256: r.sha256 }, 'model downloaded');
    } catch (err) {
      log.error({ module: 'models', role, file: dest, err: (err as Error).message }, `could not download the model for role ${role}; place ${path.basename(dest)} at ${dest} yourself`);
      missing.push(role);
    }
  }
  return missing;
}
