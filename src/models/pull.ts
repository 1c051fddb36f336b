import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema/index.js';
import { ID_PATTERN } from '../config/schema/index.js';
import { errorMessage, InputError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { downloadFile, type DownloadResult } from './download.js';
import { hubEndpoint } from './hub.js';
import { loadManifest, type ModelManifest } from './manifest.js';
import { modelsDir, resolveModelPath } from './paths.js';
import { missingFiles, pullPlan, type PlannedFile, type RolePlan } from './plan.js';
import { progressReporter } from './progress.js';
import { runPullSession, type PullStatus } from './pull-session.js';

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

/** `hf:owner/repo/path/file.gguf` -> <HF_ENDPOINT or https://huggingface.co>/owner/repo/resolve/main/path/file.gguf */
export function hfUrl(ref: string): { url: string; file: string } {
  const parts = ref.replace(/^hf:/, '').split('/');
  if (parts.length < 3 || !parts.every((p) => HF_SEGMENT.test(p))) {
    throw new InputError(`"${ref}" is not hf:owner/repo/file.gguf`);
  }
  const [owner, repo, ...rest] = parts as [string, string, ...string[]];
  const file = rest.at(-1) ?? '';
  if (!SAFE_FILE.test(file)) throw new InputError(`"${ref}": only .gguf files can be pulled`);
  return { url: `${hubEndpoint()}/${owner}/${repo}/resolve/main/${rest.map(encodeURIComponent).join('/')}`, file };
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
  /** role | hf:owner/repo/file.gguf | http(s) URL; `--all`: every enabled in-process role */
  target: string;
  /** where progress goes (default process.stderr) */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
  /** pull again even if the file exists */
  force?: boolean;
  manifest?: ModelManifest;
}

export interface PulledFile {
  role?: string;
  file: string;
  bytes: number;
  /** empty when skipped */
  sha256: string;
  /** what the sha256 was checked against */
  checked?: 'pinned' | 'hub-etag' | 'none';
  skipped?: boolean;
}

export interface ModelsPullResult {
  files: PulledFile[];
  failed: PullStatus['failed'];
  /** no route to the hub */
  noRoute: boolean;
}

/** The target as roles to plan, or undefined when it is a single hf:/URL file. */
function targetRoles(config: Config, target: string): string[] | undefined {
  if (target === '--all' || target === 'all') {
    return Object.entries(config.models)
      .filter(([, s]) => s.enabled && (s.backend === 'llama' || s.backend === 'transformers'))
      .map(([r]) => r);
  }
  if (target.startsWith('hf:') || /^https?:\/\//i.test(target)) return undefined;
  if (!new RegExp(ID_PATTERN).test(target)) throw new InputError(`"${target}" is not a role, --all, hf:owner/repo/file.gguf or an http(s) URL`);
  const spec = config.models[target];
  if (!spec) throw new InputError(`no role "${target}" in models: (roles: ${Object.keys(config.models).join(', ')})`);
  if (spec.backend !== 'llama' && spec.backend !== 'transformers') {
    throw new InputError(`role ${target} uses backend ${spec.backend}: its model is not in this process, so there is nothing to pull`);
  }
  return [target];
}

/**
 * `sarai models pull`: a role's files (GGUF + mmproj, or a transformers.js folder), every
 * enabled in-process role (`--all`), an hf: reference or a URL; with progress, resume and the
 * sha256 check (pinned, else the hub's ETag). Explicit, so allow_downloads does not apply.
 */
export async function modelsPull(opts: ModelsPullOptions): Promise<ModelsPullResult> {
  const roles = targetRoles(opts.config, opts.target);
  const out = opts.out ?? process.stderr;
  if (!roles) {
    const src = resolvePullSource(opts.config, opts.baseDir, opts.target);
    if (!opts.force && existsSync(src.dest)) return { files: [{ file: src.dest, bytes: statSync(src.dest).size, sha256: '', skipped: true }], failed: [], noRoute: false };
    const progress = progressReporter(path.basename(src.dest), out);
    try {
      const r: DownloadResult = await downloadFile({
        url: src.url,
        dest: src.dest,
        onProgress: progress.onProgress,
        ...(src.sha256 ? { sha256: src.sha256 } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return { files: [{ file: r.file, bytes: r.bytes, sha256: r.sha256, checked: src.sha256 ? 'pinned' : 'none' }], failed: [], noRoute: false };
    } finally {
      progress.done();
    }
  }
  const plans = pullPlan(opts.config, opts.baseDir, opts.manifest ?? loadManifest(), roles);
  const skipped: PulledFile[] = [];
  for (const p of plans) {
    for (const f of p.files) if (f.present && (p.present || !opts.force)) skipped.push({ role: p.role, file: f.dest, bytes: statSync(f.dest).size, sha256: '', skipped: true });
  }
  const todo = opts.force ? plans.flatMap((p) => p.files) : missingFiles(plans);
  const done: PulledFile[] = [];
  let bar: ReturnType<typeof progressReporter> | undefined;
  const status = await runPullSession(todo, {
    modelsDir: modelsDir(opts.config, opts.baseDir),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onFileStart: (f) => {
      bar = progressReporter(`${f.role} ${path.basename(f.dest)}`, out);
    },
    onFileProgress: (_f, p) => bar?.onProgress(p),
    onFileDone: (f, r) => {
      bar?.done();
      done.push({ role: f.role, file: f.dest, bytes: r.bytes, sha256: r.sha256, checked: r.checked });
    },
  });
  bar?.done();
  return {
    files: [...skipped.filter((s) => !done.some((d) => d.file === s.file)), ...done],
    failed: status.failed,
    noRoute: status.state === 'no_route',
  };
}

/** One line per file: "place <file> at <dest> (from <url>)", for the no-route message. */
export function placementAdvice(files: PlannedFile[]): string[] {
  return files.map((f) => `${f.role}: place ${f.repoPath ?? path.basename(f.dest)} at ${f.dest}${f.url ? ` (from ${f.url})` : ''}`);
}

/** Watches and reports the start-up pull (the model manager owns one). */
export interface StartupPullOptions {
  config: Config;
  baseDir: string;
  log: Logger;
  signal?: AbortSignal;
  manifest?: ModelManifest;
  /** every progress change of the pull (throttle before publishing) */
  onStatus?: (s: PullStatus) => void;
}

/**
 * At start: the files of every enabled in-process role that are missing (GGUF, mmproj,
 * transformers.js folder files) are pulled when runtime.allow_downloads is true, with a log
 * line every 10 % or 10 s. With no route to the hub it says ONCE which files to place where.
 * Never throws; the bridge serves the roles it can. Returns the roles still missing.
 */
export async function pullMissingModels(config: Config, baseDir: string, log: Logger, signal?: AbortSignal, opts: Partial<StartupPullOptions> = {}): Promise<string[]> {
  let plans: RolePlan[];
  try {
    plans = pullPlan(config, baseDir, opts.manifest ?? loadManifest());
  } catch (err) {
    log.error({ module: 'models', err: errorMessage(err) }, 'cannot plan the model pulls');
    return [];
  }
  const missingRoles = () => plans.filter((p) => !p.present).map((p) => p.role);
  const todo = missingFiles(plans);
  if (todo.length === 0) return [];
  if (!config.runtime.allow_downloads) return missingRoles(); // the backend registry's start-up check says where to put each
  const bytesKnown = todo.reduce((n, f) => n + f.size, 0);
  log.info(
    { module: 'models', files: todo.map((f) => path.relative(modelsDir(config, baseDir), f.dest)), hub: hubEndpoint() },
    `first start: downloading ${todo.length} model file(s) for ${[...new Set(todo.map((f) => f.role))].join(', ')}${bytesKnown ? ` (~${Math.round(bytesKnown / 1_048_576)} MB)` : ''}; progress on the System page and sarai/bridge/state`,
  );
  let lastLog = 0;
  let lastDecile = -1;
  const status = await runPullSession(todo, {
    modelsDir: modelsDir(config, baseDir),
    ...(signal ? { signal } : {}),
    onProgress: (s) => {
      opts.onStatus?.(s);
      const decile = s.percent === undefined ? -1 : Math.floor(s.percent / 10);
      if (decile <= lastDecile && Date.now() - lastLog < 10_000) return;
      lastDecile = Math.max(lastDecile, decile);
      lastLog = Date.now();
      if (s.state !== 'pulling' || !s.current) return;
      log.info(
        {
          module: 'models',
          role: s.current.role,
          file: path.basename(s.current.file),
          mb: Math.round(s.received_bytes / 1_048_576),
          total_mb: s.total_bytes ? Math.round(s.total_bytes / 1_048_576) : undefined,
          percent: s.percent,
          eta_s: s.eta_s,
        },
        'downloading models',
      );
    },
    onFileDone: (f, r) => log.info({ module: 'models', role: f.role, file: f.dest, bytes: r.bytes, sha256: r.sha256, checked: r.checked }, 'model file downloaded'),
  });
  for (const p of plans) p.present = p.present || p.files.every((f) => f.present || existsSync(f.dest));
  if (status.state === 'no_route') {
    const left = missingFiles(plans);
    log.error(
      { module: 'models', hub: hubEndpoint(), err: status.failed[0]?.error, place: placementAdvice(left) },
      `no route to the model hub: the bridge serves the roles it can. Place these files yourself (or set HF_ENDPOINT to a mirror), then restart:\n${placementAdvice(left).join('\n')}`,
    );
  } else {
    for (const f of status.failed) log.error({ module: 'models', role: f.role, file: f.file, err: f.error }, `could not download ${path.basename(f.file)} for role ${f.role}; run \`sarai models pull ${f.role}\` or place it at ${f.file}`);
  }
  return missingRoles();
}

