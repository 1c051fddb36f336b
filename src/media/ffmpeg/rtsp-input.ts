import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '../../log/logger.js';
import { hasCredentials, rtspListFile, type FfmpegInput } from './args.js';
import { FfmpegError } from './process.js';

export interface RtspInputOptions {
  socketTimeoutMs: number;
  /** ffmpeg < 5: the old timeout option, and no per-file options (the URL goes on the command line). */
  legacy: boolean;
  /** Where the private folder goes (default: the OS temp folder), and its name's prefix. */
  tempDir?: string;
  prefix: string;
}

/**
 * Runs `run` with the ffmpeg input for a camera's RTSP URL (clips and live audio alike).
 * Credentials go to ffmpeg in a private file (0600, in its own temp folder), never on its
 * world-readable command line; ffmpeg < 5 has no per-file options and still gets the URL. An
 * FfmpegError then names the URL (redacted) where ffmpeg named the list file. The folder is
 * removed afterwards, however `run` ends.
 */
export async function withRtspInput<T>(url: string, o: RtspInputOptions, run: (input: FfmpegInput) => Promise<T>): Promise<T> {
  if (!hasCredentials(url) || o.legacy) {
    return run({ kind: 'rtsp', url, socketTimeoutMs: o.socketTimeoutMs, ...(o.legacy ? { legacyTimeout: true } : {}) });
  }
  const dir = await mkdtemp(join(o.tempDir ?? tmpdir(), o.prefix));
  const path = join(dir, 'camera.ffconcat');
  try {
    await writeFile(path, rtspListFile(url, o.socketTimeoutMs, o.legacy), { mode: 0o600 });
    return await run({ kind: 'rtsp-list', path });
  } catch (err) {
    if (err instanceof FfmpegError) err.message = err.message.split(`file:${path}`).join(redactUrl(url));
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
