import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { untilAborted } from '../../core/abort.js';
import { BackendError } from '../../core/errors.js';
import type { HostReply, HostRequest, LoadInfo, PipelineSpec, RgbImage, WorkerMemory } from './host-protocol.js';
import type { LoadProgress } from './pipelines.js';

/** A request without its id (the host assigns it). */
type Outgoing = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  onEvent?: (reply: HostReply) => void;
}

/** The worker exited or crashed: its pipelines are gone. */
export class PipelineHostStoppedError extends BackendError {
  override readonly name: string = 'PipelineHostStoppedError';
}

/**
 * The one worker thread that runs every transformers.js pipeline of the process. Shared by all
 * `transformers` backends (one module load, one ONNX Runtime), created on first use and
 * terminated when the last pipeline is released. The worker keeps the process alive only while
 * requests are pending, so an idle host never holds up shutdown.
 */
export class PipelineHost {
  private static current: PipelineHost | undefined;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private refs = 0;
  private stopped?: Error;

  private constructor() {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (msg: HostReply) => this.onReply(msg));
    this.worker.on('error', (err) => this.stop(new PipelineHostStoppedError(`transformers worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => this.stop(new PipelineHostStoppedError(`transformers worker exited (code ${code})`)));
  }

  /** The shared host (a new one if the last one stopped); call release() once per acquire(). */
  static acquire(): PipelineHost {
    if (!PipelineHost.current || PipelineHost.current.stopped) PipelineHost.current = new PipelineHost();
    const host = PipelineHost.current;
    host.refs++;
    return host;
  }

  /** The running shared host, if any (health checks, tests). */
  static peek(): PipelineHost | undefined {
    return PipelineHost.current;
  }

  get alive(): boolean {
    return !this.stopped;
  }

  /** Pipelines holding the worker. */
  get references(): number {
    return this.refs;
  }

  /**
   * The worker's heap and external memory, or undefined when it does not answer within
   * `timeoutMs` (busy in synchronous pre-processing) or has stopped.
   */
  async memory(timeoutMs = 1000): Promise<WorkerMemory | undefined> {
    try {
      return await untilAborted(this.request<WorkerMemory>({ op: 'memory' }).result, AbortSignal.timeout(timeoutMs));
    } catch {
      return undefined;
    }
  }

  /** Ends the worker at once (its pipelines fail and reload on their next call). */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  /** Drops one reference; the last one terminates the worker (ms: what terminate() takes). */
  async release(): Promise<void> {
    this.refs = Math.max(0, this.refs - 1);
    if (this.refs > 0 || this.stopped) return;
    if (PipelineHost.current === this) PipelineHost.current = undefined;
    this.stop(new PipelineHostStoppedError('transformers worker stopped'));
    await this.worker.terminate();
  }

  /** Sends a request; `transfer` buffers move to the worker (the caller must not use them after). */
  request<T>(msg: Outgoing, opts: { transfer?: ArrayBuffer[]; onEvent?: (reply: HostReply) => void } = {}): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    if (this.stopped) return { id, result: Promise.reject(this.stopped) };
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
    });
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ ...msg, id } as HostRequest, opts.transfer ?? []);
    return { id, result };
  }

  /** Fire-and-forget (abort): no reply is awaited. */
  notify(msg: Outgoing): void {
    if (this.stopped) return;
    const { result } = this.request(msg);
    result.catch(() => undefined);
  }

  private onReply(msg: HostReply): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.kind === 'token' || msg.kind === 'progress') {
      p.onEvent?.(msg);
      return;
    }
    this.settle(msg.id);
    if (msg.kind === 'result') p.resolve(msg.value);
    else p.reject(new BackendError(msg.message));
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private stop(err: Error): void {
    if (this.stopped) return;
    this.stopped = err;
    if (PipelineHost.current === this) PipelineHost.current = undefined;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(err);
    }
  }
}

/**
 * Starts the worker. From compiled JavaScript it is `pipeline-host.js` beside this file; from
 * TypeScript sources (tsx, vitest) the worker registers tsx first so it can load `.ts`.
 */
function startWorker(): Worker {
  const fromTs = import.meta.url.endsWith('.ts');
  const entry = new URL(fromTs ? './pipeline-host.ts' : './pipeline-host.js', import.meta.url);
  if (!fromTs) return new Worker(entry);
  // The ESM build of tsx's register API sits beside the CommonJS one require.resolve finds.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  // transformers.js is loaded before tsx hooks in, so its 8 MB bundle is not run through them.
  const lib = pathToFileURL(createRequire(import.meta.url).resolve('@huggingface/transformers').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(lib)}).then(() => import(${JSON.stringify(tsxApi)})).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true });
}

let nextPipeId = 1;

export interface RemoteLoadOptions extends PipelineSpec {
  onProgress?: (info: LoadProgress) => void;
}

/** One pipeline living in the host worker, driven from the main thread. */
export class RemotePipeline {
  private released = false;

  private constructor(
    private readonly host: PipelineHost,
    private readonly pipe: number,
    readonly info: LoadInfo,
  ) {}

  static async load(opts: RemoteLoadOptions): Promise<RemotePipeline> {
    const host = PipelineHost.acquire();
    const pipe = nextPipeId++;
    const { onProgress, ...rest } = opts;
    try {
      const { result } = host.request<LoadInfo>(
        { op: 'load', pipe, ...rest, progress: onProgress !== undefined },
        onProgress ? { onEvent: (r) => r.kind === 'progress' && onProgress(r.info) } : {},
      );
      return new RemotePipeline(host, pipe, await result);
    } catch (err) {
      await host.release();
      throw err;
    }
  }

  /** False once the worker has stopped: the pipeline must be loaded again. */
  get alive(): boolean {
    return this.host.alive && !this.released;
  }

  caption(image: RgbImage, opts: { maxNewTokens: number; onToken?: (text: string) => void; signal: AbortSignal }): Promise<{ text: string; tokens: number }> {
    const { id, result } = this.host.request<{ text: string; tokens: number }>(
      { op: 'caption', pipe: this.pipe, image, maxNewTokens: opts.maxNewTokens, stream: opts.onToken !== undefined },
      { transfer: [image.data.buffer as ArrayBuffer], ...(opts.onToken ? { onEvent: (r) => r.kind === 'token' && opts.onToken?.(r.text) } : {}) },
    );
    // Generation stops at the next token in the worker.
    const onAbort = (): void => this.host.notify({ op: 'abort', target: id });
    opts.signal.addEventListener('abort', onAbort, { once: true });
    return result.finally(() => opts.signal.removeEventListener('abort', onAbort));
  }

  transcribe(samples: Float32Array, rate: number): Promise<string> {
    return this.host.request<string>({ op: 'transcribe', pipe: this.pipe, samples, rate }).result;
  }

  synthesize(text: string): Promise<{ samples: Float32Array; sampleRate: number }> {
    return this.host.request<{ samples: Float32Array; sampleRate: number }>({ op: 'synthesize', pipe: this.pipe, text }).result;
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    return this.host.request<Float32Array[]>({ op: 'embed', pipe: this.pipe, texts }).result;
  }

  classifyAudio(samples: Float32Array): Promise<{ label: string; score: number }[]> {
    return this.host.request<{ label: string; score: number }[]>({ op: 'classify_audio', pipe: this.pipe, samples }).result;
  }

  /** Frees the sessions in the worker and drops this pipeline's hold on it. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      if (this.host.alive) await this.host.request({ op: 'dispose', pipe: this.pipe }).result;
    } finally {
      await this.host.release();
    }
  }
}
