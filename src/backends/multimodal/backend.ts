import { untilAborted, callDeadline } from '../../core/abort.js';
import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, DisposedError, errorMessage, InputError } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { GgufPreflightError, preflightGguf } from '../../models/gguf-preflight.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { Limiter } from '../../models/limiter.js';
import { resolveThreads, type RuntimeConfig } from '../llama/runtime.js';
import type { Audio, Backend, BackendHealth, Capability, GenerateRequest, GenerateResult, TranscribeResult } from '../types.js';
import { jsonSchemaGrammar } from './grammar.js';
import type { HostCompletionResult, HostRequest, HostTimings, MultimodalSupport } from './host-protocol.js';
import { audioDataUrl, imageDataUrl } from './media.js';
import { HostContextLostError, ModelHost } from './model-host.js';

/** What the model is asked when a role uses it as speech-to-text. */
export const TRANSCRIBE_PROMPT = 'Transcribe the speech in this audio exactly. Reply with the words only.';

export interface MultimodalBackendOptions {
  role: string;
  spec: ModelConfig;
  /** Absolute paths. */
  modelPath: string;
  mmprojPath: string;
  runtime: RuntimeConfig;
  log: Logger;
  /** The model manager's load gate (memory budget, eviction); without it the role loads directly. */
  loadGate?: (backend: MultimodalBackend, load: () => Promise<void>) => Promise<void>;
}

/** What one answer cost, for benches and logs (ms, tokens). */
export interface MultimodalResult extends GenerateResult {
  timings: HostTimings;
}

/**
 * A `llama` role with `mmproj_file`: a GGUF text model plus its multimodal projector, run on
 * llama.cpp's libmtmd (@fugood/llama.node) in a model host child process (model-host.ts), so a
 * native abort on a damaged projector or an odd input fails the call, not the bridge. Images
 * and audio go in one chat turn; JSON-schema output is grammar-constrained. Capabilities
 * follow the projector once loaded (vision: image/video, audio: audio_in).
 */
export class MultimodalBackend implements Backend {
  readonly kind = 'llama';
  readonly role: string;
  readonly model: string;
  readonly capabilities: Set<Capability>;
  readonly limiter: Limiter;
  private host?: ModelHost;
  private support?: MultimodalSupport;
  private loading?: Promise<void>;
  private state: BackendHealth = { state: 'idle' };
  private disposed = false;
  private lifetime = new AbortController();
  private lastUsedAt = 0;

  constructor(private readonly opts: MultimodalBackendOptions) {
    this.role = opts.role;
    this.model = opts.spec.name || opts.modelPath.split('/').pop() || opts.role;
    // From the projector's header when the file is there (the router picks roles before they load); load() confirms it.
    const declared = projectorEncoders(opts.mmprojPath);
    this.capabilities = new Set<Capability>(['text', 'json_schema']);
    if (declared?.vision ?? true) (['image', 'video'] as const).forEach((c) => this.capabilities.add(c));
    if (declared?.audio ?? true) this.capabilities.add('audio_in');
    this.limiter = new Limiter(`${opts.role} (${this.model})`, 1, opts.spec.queue_limit);
  }

  get isLoaded(): boolean {
    return this.host?.alive === true && this.support !== undefined;
  }

  get spec(): ModelConfig {
    return this.opts.spec;
  }

  /** Absolute paths of the text GGUF and the projector (the manager's memory estimate reads them). */
  get modelPath(): string {
    return this.opts.modelPath;
  }
  get mmprojPath(): string {
    return this.opts.mmprojPath;
  }

  /** Requests running or queued (the manager never evicts a busy role). */
  get busy(): boolean {
    return this.limiter.active > 0 || this.limiter.queued > 0;
  }

  /** ms since epoch of the last request start (0: never used). */
  get lastUsed(): number {
    return this.lastUsedAt;
  }

  /** The host's memory is not measured from here; the manager counts the GGUF-metadata estimate. */
  measuredBytes(): number {
    return 0;
  }

  /** The host's process id while it runs (tests, diagnostics). */
  get hostPid(): number | undefined {
    return this.host?.alive ? this.host.pid : undefined;
  }

  get multimodalSupport(): MultimodalSupport | undefined {
    return this.support;
  }

  health(): BackendHealth {
    return { ...this.state };
  }

  /** Idempotent: starts the host and loads model + projector (again after the host died). */
  async start(signal?: AbortSignal): Promise<void> {
    this.assertLive();
    if (this.isLoaded) return;
    const gate = this.opts.loadGate ?? ((_b, load) => load());
    this.loading ??= gate(this, () => this.load()).finally(() => {
      this.loading = undefined;
    });
    return signal ? untilAborted(this.loading, signal) : this.loading;
  }

  private async load(): Promise<void> {
    const { spec, modelPath, mmprojPath, runtime, log } = this.opts;
    this.state = { state: 'starting' };
    const started = Date.now();
    await this.host?.close().catch(() => undefined);
    this.host = undefined;
    this.support = undefined;
    try {
      preflightGguf(modelPath);
      checkMmprojHeader(mmprojPath); // the full check is libmtmd's own, in the host: an abort there ends only the host
      const host = new ModelHost(this.role);
      this.host = host;
      const support = await host.request<MultimodalSupport>({ op: 'load', modelPath, mmprojPath, nCtx: spec.context_length, threads: resolveThreads(runtime.threads) }).result;
      if (!support.vision && !support.audio) throw new BackendError(`${this.role}: ${mmprojPath} has neither a vision nor an audio encoder`);
      if (this.disposed) throw new DisposedError(`${this.role}: disposed while loading`);
      this.support = support;
      this.capabilities.clear();
      for (const c of ['text', 'json_schema'] as const) this.capabilities.add(c);
      if (support.vision) (['image', 'video'] as const).forEach((c) => this.capabilities.add(c));
      if (support.audio) this.capabilities.add('audio_in');
      this.state = { state: 'ready' };
      log.info({ module: 'multimodal', role: this.role, file: modelPath, mmproj: mmprojPath, vision: support.vision, audio: support.audio, ms: Date.now() - started }, 'multimodal model loaded');
    } catch (err) {
      await this.host?.close().catch(() => undefined);
      this.host = undefined;
      const msg = `${errorMessage(err)}`;
      this.state = { state: 'failed', lastError: msg };
      log.error({ module: 'multimodal', role: this.role, file: modelPath, mmproj: mmprojPath, err: msg }, 'multimodal model load failed');
      throw err instanceof BackendError || err instanceof InputError ? err : new BackendError(`${this.role}: ${msg}`);
    }
  }

  /** One chat turn; images (JPEG bytes) and audio go into the user's message. */
  async generate(req: GenerateRequest): Promise<MultimodalResult> {
    this.assertLive();
    const last = req.messages.at(-1);
    if (!last || last.role !== 'user') throw new InputError(`${this.role}: the last message must be the user's turn`);
    const { signal, done, mapError } = callDeadline(this.role, this.opts.spec.timeout_s, this.lifetime.signal, req.signal);
    const started = Date.now();
    this.lastUsedAt = started;
    let release: (() => void) | undefined;
    let host: ModelHost | undefined;
    try {
      // media are checked before the model is touched: bad input never reaches libmtmd
      const images = await Promise.all((req.images ?? []).map((b) => imageDataUrl(b).catch((err: unknown) => {
        throw new InputError(`${this.role}: ${errorMessage(err)}`);
      })));
      const audio = req.audio ? wrapInput(this.role, () => audioDataUrl(req.audio as NonNullable<GenerateRequest['audio']>)) : undefined;
      const grammar = req.jsonSchema ? await jsonSchemaGrammar(req.jsonSchema) : undefined;
      release = await this.limiter.acquire(signal);
      await this.start(signal);
      const support = this.support;
      if (images.length > 0 && !support?.vision) throw new InputError(`${this.role}: the projector ${this.opts.mmprojPath} has no vision encoder; images cannot be sent to this role`);
      if (audio && !support?.audio) throw new InputError(`${this.role}: the projector ${this.opts.mmprojPath} has no audio encoder; audio cannot be sent to this role`);
      const parts: unknown[] = [{ type: 'text', text: last.content }];
      for (const url of images) parts.push({ type: 'image_url', image_url: { url } });
      if (audio) parts.push({ type: 'input_audio', input_audio: { format: 'wav', data: audio } });
      const messages = [...req.messages.slice(0, -1).map((m) => ({ role: m.role, content: m.content })), { role: 'user', content: parts }];
      const payload = { op: 'complete' as const, messages, ...(grammar ? { grammar } : {}), maxTokens: req.maxTokens ?? this.opts.spec.max_tokens, temperature: req.temperature ?? this.opts.spec.temperature };
      host = this.host;
      let r: HostCompletionResult;
      try {
        r = await this.complete(host, payload, signal);
      } catch (err) {
        if (!(err instanceof HostContextLostError)) throw err;
        if (host) await this.retire(host);
        if (!err.stale) throw err;
        // llama.node's leftover flag, not this request: one retry on a fresh host
        this.opts.log.warn({ module: 'multimodal', role: this.role, err: errorMessage(err) }, 'llama.node left its context wedged; restarted the model host and retrying once');
        await this.start(signal);
        host = this.host;
        r = await this.complete(host, payload, signal);
      }
      req.onToken?.(r.text);
      const result: MultimodalResult = { text: r.text, model: this.model, tokens: r.tokens, latencyMs: Date.now() - started, timings: r.timings };
      if (req.jsonSchema) {
        try {
          result.json = JSON.parse(r.text);
        } catch (err) {
          throw new BackendError(`${this.role}: the answer did not match the JSON schema (${errorMessage(err)}); raise max_tokens?`);
        }
      }
      if (this.state.state !== 'ready') this.state = { state: 'ready' };
      return result;
    } catch (err) {
      if (host && !host.alive && !(err instanceof HostContextLostError)) this.state = { state: 'failed', lastError: errorMessage(err) };
      throw mapError(err);
    } finally {
      release?.();
      done();
    }
  }

  /** One completion on `host`; an abort asks the host to stop the model at its next token. */
  private async complete(host: ModelHost | undefined, payload: Omit<Extract<HostRequest, { op: 'complete' }>, 'id'>, signal: AbortSignal): Promise<HostCompletionResult> {
    if (!host) throw new DisposedError(`${this.role}: model was unloaded`);
    const stopOnAbort = (): void => void host.request({ op: 'stop' }).result.catch(() => undefined);
    signal.addEventListener('abort', stopOnAbort, { once: true });
    try {
      return await untilAborted(host.request<HostCompletionResult>(payload).result, signal);
    } finally {
      signal.removeEventListener('abort', stopOnAbort);
    }
  }

  /** Ends a host whose context llama.node left unusable; the next start() loads a new one. */
  private async retire(host: ModelHost): Promise<void> {
    if (this.host === host) {
      this.host = undefined;
      this.support = undefined;
      if (this.state.state === 'ready') this.state = { state: 'idle' };
    }
    await host.close().catch(() => undefined);
  }

  /** Test hook (tests/): leaves llama.node's in-progress flag set, as its Queue/OnComplete race does. */
  async wedgeHostForTest(): Promise<void> {
    const h = this.host;
    if (!h) throw new BackendError(`${this.role}: no host running`);
    await h.request({ op: 'wedge' }).result;
  }

  /**
   * Speech to text through the audio projector (the seed's omni hears the satellite itself):
   * the audio goes to the model with a transcription instruction.
   */
  async transcribe(audio: Audio, signal?: AbortSignal): Promise<TranscribeResult> {
    const r = await this.generate({
      messages: [{ role: 'user', content: TRANSCRIBE_PROMPT }],
      audio,
      ...(signal ? { signal } : {}),
    });
    return { text: r.text.trim(), model: this.model, latencyMs: r.latencyMs };
  }

  /** Test hook (tests/, bench/): makes the host call process.abort(), as a native abort would. */
  async crashHostForTest(): Promise<void> {
    const h = this.host;
    if (!h) throw new BackendError(`${this.role}: no host running`);
    h.request({ op: 'crash' }).result.catch(() => undefined);
    await h.exited;
  }

  /** Ends the host (frees model, projector and context); the next call loads again. */
  async unload(): Promise<void> {
    if (this.loading) await this.loading.catch(() => undefined);
    this.lifetime.abort(new DisposedError(`${this.role}: model unloaded`));
    this.lifetime = new AbortController();
    const h = this.host;
    this.host = undefined;
    this.support = undefined;
    await h?.close();
    if (!this.disposed) this.state = { state: 'idle' };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.limiter.rejectAll(new DisposedError(`${this.role}: disposed`));
    await this.unload();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
  }
}

function wrapInput<T>(role: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new InputError(`${role}: ${errorMessage(err)}`);
  }
}

/** The mmproj exists and starts with the GGUF magic (text-model metadata checks do not apply to a projector). */
function checkMmprojHeader(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new GgufPreflightError(file, 'mmproj file not found');
  }
  try {
    const head = Buffer.alloc(4);
    if (readSync(fd, head, 0, 4, 0) < 4 || head.toString('ascii') !== 'GGUF') throw new GgufPreflightError(file, 'not a GGUF file (mmproj)');
  } finally {
    closeSync(fd);
  }
}

/**
 * Which encoders an mmproj declares (`clip.has_vision_encoder`, `clip.has_audio_encoder`, bool
 * keys in its GGUF header), or undefined when the file cannot be read yet (not pulled).
 */
export function projectorEncoders(file: string): MultimodalSupport | undefined {
  let head: Buffer;
  try {
    const fd = openSync(file, 'r');
    try {
      head = Buffer.alloc(64 * 1024);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // key = u64 length + bytes, then u32 type 7 (bool) and one byte
  const flag = (key: string): boolean => {
    const at = head.indexOf(Buffer.from(key, 'ascii'));
    if (at < 0 || at + key.length + 5 > head.length) return false;
    return head.readUInt32LE(at + key.length) === 7 && head[at + key.length + 4] === 1;
  };
  return { vision: flag('clip.has_vision_encoder'), audio: flag('clip.has_audio_encoder') };
}
