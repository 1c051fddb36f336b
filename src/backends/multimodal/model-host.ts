import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../../core/errors.js';
import type { HostReply, HostRequest } from './host-protocol.js';

/** The model host process ended (a native abort, a kill): its model is gone. */
export class ModelHostStoppedError extends BackendError {
  override readonly name: string = 'ModelHostStoppedError';
}

/**
 * A completion failed inside llama.node and left its context unusable (host-entry.ts says
 * why): the owner ends this host. `stale` when the failure was llama.node's leftover
 * in-progress flag rather than this request's own fault: worth one retry on a new host.
 */
export class HostContextLostError extends BackendError {
  override readonly name: string = 'HostContextLostError';
  get stale(): boolean {
    return /Another completion is in progress/.test(this.message);
  }
}

type Outgoing = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * One child Node process running llama.node for one multimodal role, driven over IPC. When the
 * child dies, every pending call fails with ModelHostStoppedError naming the exit code or
 * signal; the owner starts a new host on its next call.
 */
export class ModelHost {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopped?: ModelHostStoppedError;
  /** Resolves when the child has exited. */
  readonly exited: Promise<void>;
  /** The end of llama.cpp's stderr: a GGML_ASSERT names its cause there, just before the abort. */
  private stderrTail = '';

  constructor(readonly label: string) {
    this.child = startChild();
    this.child.on('message', (msg: HostReply) => this.onReply(msg));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        const said = lastWords(this.stderrTail);
        this.stop(new ModelHostStoppedError(`${label}: the model host exited (${signal ? `signal ${signal}` : `code ${code}`}); llama.cpp aborted or the host was killed, the next call restarts it${said ? `. Its last words: ${said}` : ''}`));
        resolve();
      });
    });
    this.child.on('error', (err) => this.stop(new ModelHostStoppedError(`${label}: model host failed: ${err.message}`)));
  }

  get alive(): boolean {
    return !this.stopped;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  request<T>(msg: Outgoing): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    if (this.stopped) return { id, result: Promise.reject(this.stopped) };
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.child.send({ ...msg, id } as HostRequest);
    return { id, result };
  }

  /** Ends the host (SIGKILL if it does not leave on its own within `graceMs`). */
  async close(graceMs = 5000): Promise<void> {
    if (this.stopped) return this.exited;
    this.stop(new ModelHostStoppedError(`${this.label}: model host closed`));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onReply(msg: HostReply): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.kind === 'result') p.resolve(msg.value);
    else p.reject(new (msg.contextLost ? HostContextLostError : BackendError)(`${this.label}: ${msg.message}`));
  }

  private stop(err: ModelHostStoppedError): void {
    if (this.stopped) return;
    this.stopped = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

const STDERR_TAIL_CHARS = 4096;

/**
 * What stderr said last about the failure: the last line naming an assert or an error (a
 * backtrace follows it), else the last few lines, on one line.
 */
function lastWords(tail: string): string {
  const lines = tail.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const cause = lines.findLast((l) => /GGML_ASSERT|GGML_ABORT|error|failed|terminate called/i.test(l));
  return (cause ?? lines.slice(-3).join(' | ')).slice(-600);
}

/** From compiled JavaScript the entry is host-entry.js; from sources (tsx, vitest) tsx loads the .ts. */
function startChild(): ChildProcess {
  const fromTs = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromTs ? './host-entry.ts' : './host-entry.js', import.meta.url));
  const execArgv = fromTs ? ['--import', import.meta.resolve('tsx')] : [];
  // llama.cpp logs to stdout/stderr: keep it out of the bridge's log stream, but keep the end
  // of stderr for the error that names why the host died
  return fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
}
