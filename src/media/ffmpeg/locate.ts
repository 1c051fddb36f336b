import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join } from 'node:path';

/** Where the ffmpeg binary came from, in the order we look. */
export type FfmpegSource = 'config' | 'env' | 'path' | 'npm';

export interface FfmpegLocation {
  path: string;
  source: FfmpegSource;
}

export interface LocateOptions {
  /** `clip.ffmpeg_path` from the config; empty: not set. */
  configPath?: string;
  /** Defaults to process.env (FFMPEG_PATH, PATH). */
  env?: NodeJS.ProcessEnv;
  /** npm package that exports `{ path }` of a bundled binary. */
  npmPackage?: string;
}

export class FfmpegNotFoundError extends Error {
  override readonly name: string = 'FfmpegNotFoundError';
}

const NPM_FALLBACK = '@ffmpeg-installer/ffmpeg';

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds ffmpeg: the configured path, then FFMPEG_PATH, then `ffmpeg` on PATH, then the
 * `@ffmpeg-installer/ffmpeg` npm package if someone installed it (it is not a dependency:
 * Debian's ffmpeg is newer). A path that is set explicitly but unusable is an error, not a
 * reason to fall back silently to another binary.
 */
export async function locateFfmpeg(opts: LocateOptions = {}): Promise<FfmpegLocation> {
  const env = opts.env ?? process.env;
  const explicit: [FfmpegSource, string, string][] = [];
  if (opts.configPath) explicit.push(['config', opts.configPath, 'clip.ffmpeg_path']);
  if (env.FFMPEG_PATH) explicit.push(['env', env.FFMPEG_PATH, 'FFMPEG_PATH']);
  for (const [source, path, name] of explicit) {
    if (!isAbsolute(path)) throw new FfmpegNotFoundError(`${name} must be an absolute path to ffmpeg, got ${JSON.stringify(path)}`);
    if (await isExecutableFile(path)) return { path, source };
    throw new FfmpegNotFoundError(`${name} is ${JSON.stringify(path)}, which is not an executable file`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue; // a relative PATH entry would depend on the cwd
    const candidate = join(dir, 'ffmpeg');
    if (await isExecutableFile(candidate)) return { path: candidate, source: 'path' };
  }
  const fromNpm = npmBinary(opts.npmPackage ?? NPM_FALLBACK);
  if (fromNpm && (await isExecutableFile(fromNpm))) return { path: fromNpm, source: 'npm' };
  throw new FfmpegNotFoundError(
    'ffmpeg not found: set clip.ffmpeg_path or FFMPEG_PATH, install it (Debian/Ubuntu: apt-get install ffmpeg; ' +
      `Alpine: apk add ffmpeg), or npm install ${NPM_FALLBACK}`,
  );
}

function npmBinary(pkg: string): string | undefined {
  try {
    const mod: unknown = createRequire(import.meta.url)(pkg);
    const path = (mod as { path?: unknown }).path;
    return typeof path === 'string' ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The major version of an ffmpeg binary (`ffmpeg -version`), or undefined when it does not
 * say (git builds). Options changed meaning across versions: RTSP's socket timeout is
 * `-timeout` from 5.0 but `-stimeout` before, where `-timeout` turns on listen mode.
 */
export function ffmpegMajorVersion(path: string, timeoutMs = 5_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout) => {
      const m = /ffmpeg version n?(\d+)\./.exec(String(stdout));
      resolve(err || !m?.[1] ? undefined : Number(m[1]));
    });
  });
}
