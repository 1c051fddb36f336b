import { spawn, type ChildProcess } from 'node:child_process';
import { DisposedError, TimeoutError } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { redactText, StderrTail } from './stderr.js';

/** ffmpeg exited with an error; `message` is its redacted stderr tail. */
export class FfmpegError extends Error {
  override readonly name: string = 'FfmpegError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The run was cancelled through its AbortSignal. */
export class FfmpegAbortedError extends Error {
  override readonly name: string = 'FfmpegAbortedError';
}

export interface FfmpegRunOptions {
  args: string[];
  /** Bytes written to ffmpeg's stdin (then closed); without it stdin is closed at once. */
  stdin?: Buffer;
  /** Total wall-clock budget (ms): past it the child is killed and the run rejects. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Stdout larger than this (bytes) kills the run: a stream that never ends cannot fill RAM. */
  maxOutputBytes?: number;
  /** Strings masked in error messages (camera user and password). */
  secrets?: readonly string[];
  /**
   * Streams stdout here instead of collecting it (a live stream read for as long as it runs);
   * the result's stdout is then empty and maxOutputBytes does not apply.
   */
  onStdout?: (chunk: Buffer) => void;
}

export interface FfmpegRunResult {
  stdout: Buffer;
  /** Redacted stderr tail (warnings on success). */
  stderr: string;
  elapsedMs: number;
}

const DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024;

/**
 * Runs ffmpeg children: argument arrays only (no shell), a total timeout, abort, and a
 * registry of live children so dispose() (shutdown) kills and reaps every one of them.
 */
export class FfmpegRunner {
  private readonly live = new Map<ChildProcess, { kill: (why: Error) => void; reaped: Promise<void> }>();
  private disposed = false;

  constructor(
    readonly ffmpegPath: string,
    private readonly log: Logger,
  ) {}

  /** pids of ffmpeg children still running (tests assert this is empty). */
  pids(): number[] {
    return [...this.live.keys()].map((c) => c.pid).filter((p): p is number => p !== undefined);
  }

  run(opts: FfmpegRunOptions): Promise<FfmpegRunResult> {
    if (this.disposed) return Promise.reject(new DisposedError('ffmpeg runner is shut down'));
    if (opts.signal?.aborted) return Promise.reject(new FfmpegAbortedError('ffmpeg run aborted before it started'));
    const started = performance.now();
    const secrets = opts.secrets ?? [];
    const maxOut = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const child = spawn(this.ffmpegPath, opts.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    const tail = new StderrTail();
    let failure: Error | undefined;

    const kill = (why: Error) => {
      failure ??= why;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => kill(new TimeoutError(`ffmpeg ran past its ${(opts.timeoutMs / 1000).toFixed(1)} s limit and was stopped`)),
      opts.timeoutMs,
    );
    const onAbort = () => kill(new FfmpegAbortedError('ffmpeg run aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (c: Buffer) => {
      if (opts.onStdout) {
        opts.onStdout(c);
        return;
      }
      outBytes += c.length;
      if (outBytes > maxOut) kill(new FfmpegError(`ffmpeg output exceeded ${maxOut} bytes`, null, ''));
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => tail.push(c));
    // ffmpeg may exit before reading all of stdin (corrupt input): EPIPE is expected then
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin);

    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
      child.once('error', (err) => {
        // spawn failure (ENOENT...): no 'close' may follow for a child that never started
        if (child.pid === undefined) resolve({ code: null, signal: null, spawnError: err });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    const reaped = closed.then(() => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.live.delete(child);
    });
    this.live.set(child, { kill, reaped });

    return closed.then(({ code, signal, spawnError }) => {
      const elapsedMs = performance.now() - started;
      const stderr = redactText(tail.text(), secrets);
      if (spawnError) throw new FfmpegError(`cannot start ffmpeg at ${this.ffmpegPath}: ${spawnError.message}`, null, '');
      if (failure) throw failure;
      if (code !== 0) {
        const why = stderr || (signal ? `killed by ${signal}` : `exit code ${String(code)}`);
        throw new FfmpegError(why, code, stderr);
      }
      return { stdout: Buffer.concat(out), stderr, elapsedMs };
    });
  }

  /** Kills every running child and waits until each is reaped. Idempotent. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const waits = [...this.live.values()].map(({ kill, reaped }) => {
      kill(new DisposedError('ffmpeg run stopped: the bridge is shutting down'));
      return reaped;
    });
    if (waits.length > 0) this.log.info({ module: 'ffmpeg', killed: waits.length }, 'stopping ffmpeg children');
    await Promise.all(waits);
  }
}
