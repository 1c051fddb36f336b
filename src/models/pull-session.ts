import { rmSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { downloadFile, type DownloadProgress } from './download.js';
import { HubUnreachableError, probeHubFile, type HubFileInfo } from './hub.js';
import type { PlannedFile } from './plan.js';
import { recordVerified } from './verified.js';

/** Where a set of pulls stands: the bridge state, the System page and the log show it. */
export interface PullStatus {
  state: 'idle' | 'pulling' | 'done' | 'failed' | 'no_route';
  files_total: number;
  files_done: number;
  /** bytes on disk of the files in this pull (resumed parts included) */
  received_bytes: number;
  /** sum of the sizes known (the hub's X-Linked-Size / Content-Length) */
  total_bytes: number;
  /** 0..100, undefined while no size is known */
  percent?: number;
  /** bytes per second over this session (resumed bytes not counted) */
  rate_bps: number;
  eta_s?: number;
  current?: { role: string; file: string; received_bytes: number; total_bytes?: number };
  failed: { role: string; file: string; error: string }[];
}

export interface PullSessionOptions {
  /** the models folder (for the verified-sha256 ledger) */
  modelsDir: string;
  signal?: AbortSignal;
  /** every byte-level change (callers throttle what they show) */
  onProgress?: (status: PullStatus) => void;
  /** one file started / finished (for log lines and the CLI's per-file bar) */
  onFileStart?: (f: PlannedFile, info: HubFileInfo) => void;
  onFileProgress?: (f: PlannedFile, p: DownloadProgress) => void;
  onFileDone?: (f: PlannedFile, r: { bytes: number; sha256: string; checked: 'pinned' | 'hub-etag' | 'none' }) => void;
  now?: () => number;
}

export function emptyStatus(): PullStatus {
  return { state: 'idle', files_total: 0, files_done: 0, received_bytes: 0, total_bytes: 0, rate_bps: 0, failed: [] };
}

/**
 * Fetches `files` one by one: first a HEAD of each (sizes for the overall %/ETA, the hub's
 * sha256), then each GET with resume (.part + Range) and the sha256 check (pinned value first,
 * else the hub's ETag). A file that fails is recorded and the rest continue; when the hub
 * cannot be reached at all the session stops at once with state `no_route` (no retry storm).
 */
export async function runPullSession(files: PlannedFile[], opts: PullSessionOptions): Promise<PullStatus> {
  const now = opts.now ?? Date.now;
  const status: PullStatus = { ...emptyStatus(), state: 'pulling', files_total: files.length };
  const started = now();
  let sessionBytes = 0;
  const update = () => {
    const secs = Math.max(0.001, (now() - started) / 1000);
    status.rate_bps = Math.round(sessionBytes / secs);
    if (status.total_bytes > 0) {
      status.percent = Math.min(100, Math.floor((status.received_bytes / status.total_bytes) * 1000) / 10);
      status.eta_s = status.rate_bps > 0 ? Math.max(0, Math.round((status.total_bytes - status.received_bytes) / status.rate_bps)) : undefined;
    }
    opts.onProgress?.({ ...status, failed: [...status.failed] });
  };
  const fail = (f: PlannedFile, err: unknown) => status.failed.push({ role: f.role, file: f.dest, error: errorMessage(err) });

  // 1. sizes and checksums, so the overall figure means something from the first byte
  const infos = new Map<PlannedFile, HubFileInfo>();
  for (const f of files) {
    if (opts.signal?.aborted) break;
    if (!f.url) {
      fail(f, new Error(`no source for ${path.basename(f.dest)} (set a repo id or download URL)`));
      continue;
    }
    try {
      const info = f.repo ? await probeHubFile(f.url, opts.signal) : { url: f.url };
      infos.set(f, info);
      status.total_bytes += info.size ?? f.size;
    } catch (err) {
      if (err instanceof HubUnreachableError) {
        status.state = 'no_route';
        fail(f, err);
        update();
        return status;
      }
      fail(f, err);
    }
  }
  update();

  // 2. the transfers
  for (const [f, info] of infos) {
    if (opts.signal?.aborted) break;
    const pinned = f.sha256 || undefined;
    const expected = pinned ?? info.sha256;
    const before = status.received_bytes;
    let last = 0;
    opts.onFileStart?.(f, info);
    status.current = { role: f.role, file: f.dest, received_bytes: 0, ...(info.size !== undefined ? { total_bytes: info.size } : {}) };
    try {
      const r = await downloadFile({
        url: info.url,
        dest: f.dest,
        ...(expected ? { sha256: expected } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (p) => {
          sessionBytes += Math.max(0, p.received - Math.max(last, p.resumedFrom));
          last = p.received;
          status.received_bytes = before + p.received;
          status.current = { role: f.role, file: f.dest, received_bytes: p.received, ...(p.total !== undefined ? { total_bytes: p.total } : {}) };
          opts.onFileProgress?.(f, p);
          update();
        },
      });
      if (info.size !== undefined && r.bytes !== info.size) {
        rmSync(f.dest, { force: true }); // never leave a file the hub disowns under the final name
        throw new Error(`${path.basename(f.dest)}: got ${r.bytes} bytes, the hub says ${info.size}; the file was discarded`);
      }
      const checked = pinned ? 'pinned' : info.sha256 ? 'hub-etag' : 'none';
      if (checked !== 'none') recordVerified(opts.modelsDir, f.dest, { sha256: r.sha256, bytes: r.bytes, source: checked });
      status.files_done++;
      opts.onFileDone?.(f, { bytes: r.bytes, sha256: r.sha256, checked });
    } catch (err) {
      fail(f, err);
    }
    delete status.current;
    update();
  }
  status.state = status.failed.length ? 'failed' : 'done';
  update();
  return status;
}
