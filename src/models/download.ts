import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { BackendError } from '../core/errors.js';
import { redactUrl } from '../log/logger.js';

/** A download that failed (HTTP status, network, checksum); the final file name is never left half-written. */
export class DownloadError extends BackendError {
  override readonly name: string = 'DownloadError';
}

export interface DownloadProgress {
  /** bytes on disk so far, including a resumed part */
  received: number;
  /** total bytes when the server says, else undefined */
  total?: number;
  /** bytes that were already on disk when this transfer started */
  resumedFrom: number;
}

export interface DownloadOptions {
  url: string;
  /** final path; data goes to `<dest>.part` and is renamed only when complete and verified */
  dest: string;
  /** lowercase hex; verified when given */
  sha256?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** extra request headers (e.g. Authorization for gated repos) */
  headers?: Record<string, string>;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  sha256: string;
  /** bytes reused from an earlier interrupted transfer */
  resumedFrom: number;
}

async function hashFile(file: string): Promise<ReturnType<typeof createHash>> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash;
}

/**
 * Downloads `url` to `dest` with resume: an existing `<dest>.part` is continued with an HTTP
 * Range request (a server that answers 200 restarts it). The sha256 covers the whole file.
 * On a checksum mismatch the part is deleted; on a network error it is kept for the next try.
 */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const { url, dest, signal } = opts;
  const part = `${dest}.part`;
  await mkdir(path.dirname(dest), { recursive: true });
  let have = existsSync(part) ? statSync(part).size : 0;
  const shown = redactUrl(url);

  let res: Response;
  try {
    res = await fetch(url, {
      headers: { ...(opts.headers ?? {}), ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
      redirect: 'follow',
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw new DownloadError(`download of ${shown} failed: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
  }
  if (res.status === 416 && have > 0) {
    // the part is as long as the file (or longer): start over rather than trust it
    await res.body?.cancel();
    rmSync(part, { force: true });
    return downloadFile(opts);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(`download of ${shown} failed: HTTP ${res.status} ${res.statusText}`.trim());
  }
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      await res.body.cancel();
      throw new DownloadError(`download of ${shown}: the server resumed at the wrong offset (${res.headers.get('content-range') ?? 'no Content-Range'})`);
    }
    total = m[2] === '*' ? undefined : Number(m[2]);
  } else {
    have = 0; // a 200 answer is the whole file
    const len = res.headers.get('content-length');
    total = len ? Number(len) : undefined;
  }
  const resumedFrom = have;
  const hash = resumedFrom > 0 ? await hashFile(part) : createHash('sha256');
  let received = have;
  opts.onProgress?.({ received, ...(total !== undefined ? { total } : {}), resumedFrom });
  // Chunks are written as they arrive and the file is closed cleanly even when the transfer
  // breaks, so a resume starts after every byte that did arrive.
  const out = createWriteStream(part, { flags: resumedFrom > 0 ? 'a' : 'w' });
  let failure: unknown;
  try {
    for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      received += chunk.length;
      opts.onProgress?.({ received, ...(total !== undefined ? { total } : {}), resumedFrom });
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } catch (err) {
    failure = err;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  if (failure !== undefined) {
    throw new DownloadError(`download of ${shown} interrupted after ${received} bytes (kept ${path.basename(part)}; run the pull again to resume): ${(failure as Error).message}`);
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(`download of ${shown} ended early: ${received} of ${total} bytes (kept ${path.basename(part)}; run the pull again to resume)`);
  }
  const sha256 = hash.digest('hex');
  if (opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
    rmSync(part, { force: true });
    throw new DownloadError(`download of ${shown}: sha256 mismatch (expected ${opts.sha256}, got ${sha256}); the file was discarded`);
  }
  renameSync(part, dest);
  return { file: dest, bytes: received, sha256, resumedFrom };
}

/** sha256 of a file on disk, lowercase hex. */
export async function sha256File(file: string): Promise<string> {
  return (await hashFile(file)).digest('hex');
}
