import { InputError } from '../core/errors.js';
import { redactUrl } from '../log/logger.js';
import { DownloadError } from './download.js';

/** The Hugging Face hub, unless HF_ENDPOINT names a mirror (as huggingface_hub and transformers.js read it). */
export const DEFAULT_HUB = 'https://huggingface.co';

/** `owner/name`, the only shape of repo id we build URLs from. */
export const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The hub base URL without a trailing slash: HF_ENDPOINT, else huggingface.co. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const raw = (env['HF_ENDPOINT'] ?? '').trim() || DEFAULT_HUB;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InputError(`HF_ENDPOINT "${raw}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError(`HF_ENDPOINT "${raw}" must be http(s)`);
  return u.toString().replace(/\/+$/, '');
}

/** Throws InputError unless `file` is a relative path of plain segments (no `..`, no absolute path). */
export function checkRepoPath(file: string): string {
  const parts = file.split('/');
  if (!file || !parts.every((p) => SEGMENT.test(p) && p !== '..' && p !== '.')) throw new InputError(`"${file}" is not a plain file path inside a repository`);
  return file;
}

/** `<endpoint>/<repo>/resolve/<revision>/<file>`, every part validated. */
export function hubFileUrl(repo: string, file: string, revision = 'main', endpoint = hubEndpoint()): string {
  if (!REPO_ID.test(repo)) throw new InputError(`"${repo}" is not a Hugging Face repo id (owner/name)`);
  if (!REVISION.test(revision)) throw new InputError(`"${revision}" is not a revision`);
  checkRepoPath(file);
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The sha256 the hub vouches for: X-Linked-Etag (set on the redirect of an LFS file), else
 * ETag, when it is 64 hex digits. A git blob's ETag (40 hex, small JSON files) is a sha1 of
 * the blob header, not of the content we could hash: no sha256 then (the size still counts).
 */
export function etagSha256(headers: Headers): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = (headers.get(name) ?? '').trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
    if (/^[a-f0-9]{64}$/.test(v)) return v;
  }
  return undefined;
}

export interface HubFileInfo {
  /** where the bytes are (after the hub's redirect, if any) */
  url: string;
  sha256?: string;
  size?: number;
}

/**
 * HEAD of a hub file without following the redirect, as huggingface_hub does: the hub's own
 * answer carries X-Linked-Etag / X-Linked-Size, the CDN's does not. 404 is a clear error.
 */
export async function probeHubFile(url: string, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<HubFileInfo> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'HEAD', redirect: 'manual', headers, ...(signal ? { signal } : {}) });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new HubUnreachableError(`cannot reach ${redactUrl(url)}: ${(err as Error).message}${cause ? ` (${cause.message})` : ''}`);
  }
  await res.body?.cancel();
  if (res.status === 404) throw new DownloadError(`${redactUrl(url)}: not found on the hub (HTTP 404): check the repo id and file name`);
  const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
  const size = sizeHeader && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  const sha256 = etagSha256(res.headers);
  if (res.status >= 300 && res.status < 400) {
    const loc = res.headers.get('location');
    if (!loc) throw new DownloadError(`${redactUrl(url)}: HTTP ${res.status} without a Location`);
    return { url: new URL(loc, url).toString(), ...(sha256 ? { sha256 } : {}), ...(size !== undefined ? { size } : {}) };
  }
  if (!res.ok) throw new DownloadError(`${redactUrl(url)}: HTTP ${res.status} ${res.statusText}`.trim());
  return { url, ...(sha256 ? { sha256 } : {}), ...(size !== undefined ? { size } : {}) };
}

/** No route to the hub (DNS, refused, timeout): the caller says once what to place where. */
export class HubUnreachableError extends DownloadError {
  override readonly name: string = 'HubUnreachableError';
}
