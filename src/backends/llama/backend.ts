import { callDeadline, type CallDeadline } from '../../core/abort.js';
import type {
  ChatHistoryItem,
  ChatWrapper,
  GbnfJsonSchema,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaJsonSchemaGrammar,
  LlamaModel,
  Token,
} from 'node-llama-cpp';

type JsonGrammar = LlamaJsonSchemaGrammar<GbnfJsonSchema>;
import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, DisposedError, errorMessage, InputError } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { preflightGguf, type GgufSummary } from '../../models/gguf-preflight.js';
import { probeLoadIsolated } from '../../models/isolated-load.js';
import { Limiter } from '../../models/limiter.js';
import { embeddingContextSize } from '../../models/memory-estimate.js';
import type { Backend, BackendHealth, Capability, GenerateRequest, GenerateResult } from '../types.js';
import { clearLlamaLog, loadLlamaCpp, recentLlamaLog, resolveThreads, sharedLlama, type RuntimeConfig } from './runtime.js';

/** A short default: node-llama-cpp's own default system prompt is long, and tiny vocabularies make it longer. */
export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful home assistant. Answer briefly.';
/** Tokens kept free for the chat template's own markup when checking prompt length. */
const TEMPLATE_MARGIN_TOKENS = 32;

export interface LlamaBackendOptions {
  role: string;
  spec: ModelConfig;
  /** Absolute path of the GGUF file. */
  modelPath: string;
  runtime: RuntimeConfig;
  log: Logger;
  /**
   * Wraps every model load (the model manager uses it to make room under the memory budget
   * and to serialize loads). Default: just load.
   */
  loadGate?: (backend: LlamaBackend, load: () => Promise<void>) => Promise<void>;
  /** Called at the start of every request (LRU bookkeeping). */
  onUse?: (backend: LlamaBackend) => void;
}

export interface CompleteRequest {
  prompt: string;
  maxTokens?: number;
  temperature?: number;
  jsonSchema?: Record<string, unknown>;
  onToken?: (text: string) => void;
  signal?: AbortSignal;
}

/** What chat and completion generation both take (node-llama-cpp's prompt options). */
interface SamplingOptions {
  maxTokens: number;
  temperature: number;
  signal: AbortSignal;
  grammar?: JsonGrammar;
  onToken: (tokens: Token[]) => void;
  onTextChunk?: (text: string) => void;
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  summary: GgufSummary;
  context?: LlamaContext;
  freeSequences: LlamaContextSequence[];
  embedding?: Promise<LlamaEmbeddingContext>;
  /** resolved on the first chat, reused after */
  chatWrapper?: ChatWrapper;
}

/**
 * Runs a GGUF model in-process on node-llama-cpp: chat and plain completion with streaming,
 * JSON-schema constrained output, embeddings. At most `concurrency` requests run (one context
 * sequence each), `queue_limit` wait, more get CapacityError; every call has a deadline of
 * `timeout_s`. The model is validated by preflightGguf before llama.cpp opens it.
 */
export class LlamaBackend implements Backend {
  readonly kind = 'llama';
  readonly role: string;
  readonly model: string;
  readonly capabilities: ReadonlySet<Capability>;
  readonly limiter: Limiter;
  private loaded?: Loaded;
  private loading?: Promise<void>;
  private state: BackendHealth = { state: 'idle' };
  private disposed = false;
  /** Aborts in-flight calls on unload/dispose. */
  private lifetime = new AbortController();
  private readonly grammars = new Map<string, Promise<JsonGrammar>>();
  private lastUsedAt = 0;

  constructor(private readonly opts: LlamaBackendOptions) {
    this.role = opts.role;
    this.model = opts.spec.name || opts.modelPath.split('/').pop() || opts.role;
    this.capabilities = new Set<Capability>(opts.role === 'embedding' ? ['embedding'] : ['text', 'json_schema', 'embedding']);
    this.limiter = new Limiter(`${opts.role} (${this.model})`, opts.spec.concurrency, opts.spec.queue_limit);
  }

  get modelPath(): string {
    return this.opts.modelPath;
  }
  get spec(): ModelConfig {
    return this.opts.spec;
  }
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }
  /** Requests running or queued. */
  get busy(): boolean {
    return this.limiter.active > 0 || this.limiter.queued > 0;
  }
  /** ms since epoch of the last request start (0: never used). */
  get lastUsed(): number {
    return this.lastUsedAt;
  }
  /** The preflight summary once loaded (metadata, tensor sizes). */
  get summary(): GgufSummary | undefined {
    return this.loaded?.summary;
  }

  /** Memory llama.cpp reports for this model and its contexts, bytes (0 when not loaded). */
  measuredBytes(): number {
    const l = this.loaded;
    if (!l) return 0;
    let bytes = l.model.size;
    if (l.context && !l.context.disposed) bytes += l.context.stateSize;
    return bytes;
  }

  health(): BackendHealth {
    return { ...this.state };
  }

  /** Idempotent: validates and loads the model (through the load gate) and creates the text context. */
  async start(signal?: AbortSignal): Promise<void> {
    this.assertLive();
    if (this.loaded) return;
    if (!this.loading) {
      const gate = this.opts.loadGate ?? ((_b, load) => load());
      this.loading = gate(this, () => this.load(signal)).finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async load(signal?: AbortSignal): Promise<void> {
    this.assertLive();
    if (this.loaded) return;
    const { spec, modelPath, runtime, log } = this.opts;
    this.state = { state: 'starting' };
    const started = Date.now();
    let model: LlamaModel | undefined;
    try {
      const summary = preflightGguf(modelPath);
      if (runtime.probe_load) await probeLoadIsolated(modelPath, { gpu: runtime.gpu });
      const llama = await sharedLlama(runtime);
      clearLlamaLog();
      try {
        model = await llama.loadModel({ modelPath, ...(signal ? { loadSignal: signal } : {}) });
      } catch (err) {
        const why = recentLlamaLog().filter((l) => /error|fail/i.test(l)).slice(-3).join('; ');
        throw new BackendError(`${this.role}: llama.cpp could not load ${modelPath}: ${errorMessage(err)}${why ? ` (${why})` : ''}`);
      }
      const loaded: Loaded = { llama, model, summary, freeSequences: [] };
      if (this.capabilities.has('text')) {
        loaded.context = await model.createContext({
          contextSize: Math.min(spec.context_length, model.trainContextSize || spec.context_length),
          sequences: spec.concurrency,
          threads: resolveThreads(runtime.threads),
          ...(signal ? { createSignal: signal } : {}),
        });
        for (let i = 0; i < spec.concurrency; i++) loaded.freeSequences.push(loaded.context.getSequence());
      }
      if (this.disposed) {
        await disposeLoaded(loaded);
        throw new DisposedError(`${this.role}: disposed while loading`);
      }
      this.loaded = loaded;
      this.state = { state: 'ready' };
      log.info({ module: 'llama', role: this.role, file: modelPath, ms: Date.now() - started, mb: Math.round(this.measuredBytes() / 1_048_576) }, 'model loaded');
    } catch (err) {
      if (model && !this.loaded) await model.dispose().catch(() => undefined);
      this.state = { state: 'failed', lastError: errorMessage(err) };
      log.error({ module: 'llama', role: this.role, file: modelPath, err: errorMessage(err) }, 'model load failed');
      throw err;
    }
  }

  /** Chat generation: the last message is the user's turn; a system message sets the system prompt. */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const last = req.messages.at(-1);
    if (!last || last.role !== 'user') throw new InputError(`${this.role}: the last message must be the user's turn`);
    if (req.images?.length || req.audio) throw new InputError(`${this.role}: the llama backend takes text only`);
    return this.run(req, req.messages.map((m) => m.content), async (l, seq, options) => {
      const system = req.messages.find((m) => m.role === 'system')?.content ?? DEFAULT_SYSTEM_PROMPT;
      const history: ChatHistoryItem[] = [{ type: 'system', text: system }];
      for (const m of req.messages.slice(0, -1)) {
        if (m.role === 'user') history.push({ type: 'user', text: m.content });
        else if (m.role === 'assistant') history.push({ type: 'model', response: [m.content] });
      }
      // resolving the chat wrapper renders the model's Jinja template (~0.2 s on a busy box): once per load
      const { LlamaChatSession } = await loadLlamaCpp();
      const session = new LlamaChatSession({ contextSequence: seq, autoDisposeSequence: false, systemPrompt: system, ...(l.chatWrapper ? { chatWrapper: l.chatWrapper } : {}) });
      l.chatWrapper ??= session.chatWrapper;
      try {
        session.setChatHistory(history);
        return await session.prompt(last.content, options);
      } finally {
        session.dispose({ disposeSequence: false });
      }
    });
  }

  /** Plain text completion of `prompt` (no chat template). */
  async complete(req: CompleteRequest): Promise<GenerateResult> {
    return this.run(req, [req.prompt], async (_l, seq, options) => {
      const { LlamaCompletion } = await loadLlamaCpp();
      const completion = new LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
      try {
        return await completion.generateCompletion(req.prompt, options);
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    });
  }

  /** One embedding vector per text (the model's hidden size each). */
  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const { signal: callSignal, done, mapError } = this.callSignal(signal);
    let release: (() => void) | undefined;
    try {
      release = await this.limiter.acquire(callSignal);
      this.touch();
      await this.start(callSignal);
      const l = this.loadedOrThrow();
      l.embedding ??= l.model.createEmbeddingContext({ contextSize: embeddingContextSize(this.opts.spec), threads: resolveThreads(this.opts.runtime.threads) });
      const ctx = await l.embedding;
      const out: Float32Array[] = [];
      for (const text of texts) {
        callSignal.throwIfAborted();
        const tokens = l.model.tokenize(text);
        if (tokens.length > embeddingContextSize(this.opts.spec)) {
          throw new InputError(`${this.role}: text of ${tokens.length} tokens is longer than the embedding context (${embeddingContextSize(this.opts.spec)})`);
        }
        const e = await ctx.getEmbeddingFor(tokens);
        out.push(Float32Array.from(e.vector));
      }
      return out;
    } catch (err) {
      throw mapError(err);
    } finally {
      release?.();
      done();
    }
  }

  /** Frees the model and contexts but stays usable: the next request loads again (eviction, idle unload). */
  async unload(): Promise<void> {
    const l = this.loaded;
    if (this.loading) await this.loading.catch(() => undefined);
    this.lifetime.abort(new DisposedError(`${this.role}: model unloaded`));
    this.lifetime = new AbortController();
    const current = this.loaded ?? l;
    this.loaded = undefined;
    this.grammars.clear();
    if (current) await disposeLoaded(current);
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

  // --- internals ---

  /** One generation (slot, start, sequence, length check of `prompt`, grammar, options); `work` only prompts the model. */
  private async run(
    req: CompleteRequest | GenerateRequest,
    prompt: string[],
    work: (l: Loaded, seq: LlamaContextSequence, options: SamplingOptions) => Promise<string>,
  ): Promise<GenerateResult> {
    const { signal, done, mapError } = this.callSignal(req.signal);
    const started = Date.now();
    let release: (() => void) | undefined;
    let seq: LlamaContextSequence | undefined;
    let l: Loaded | undefined;
    try {
      release = await this.limiter.acquire(signal);
      this.touch();
      await this.start(signal);
      l = this.loadedOrThrow();
      seq = l.freeSequences.pop();
      if (!seq) throw new BackendError(`${this.role}: no free context sequence`);
      const maxTokens = req.maxTokens ?? this.opts.spec.max_tokens;
      this.checkLength(l.model, prompt, maxTokens);
      const grammar = req.jsonSchema ? await this.grammar(l.llama, req.jsonSchema) : undefined;
      let tokens = 0;
      const text = await work(l, seq, {
        maxTokens,
        temperature: req.temperature ?? this.opts.spec.temperature,
        signal,
        ...(grammar ? { grammar } : {}),
        onToken: (t) => {
          tokens += t.length;
        },
        ...(req.onToken ? { onTextChunk: req.onToken } : {}),
      });
      const result: GenerateResult = { text, model: this.model, tokens, latencyMs: Date.now() - started };
      if (grammar) {
        try {
          result.json = grammar.parse(text);
        } catch (err) {
          throw new BackendError(`${this.role}: the answer did not match the JSON schema (${errorMessage(err)}); raise max_tokens?`);
        }
      }
      return result;
    } catch (err) {
      throw mapError(err);
    } finally {
      if (seq && l) {
        // a sequence goes back empty; if its context is gone (unload), drop it
        if (!seq.disposed) {
          await seq.clearHistory().catch(() => undefined);
          if (this.loaded === l) l.freeSequences.push(seq);
        }
      }
      release?.();
      done();
    }
  }

  /** caller signal + timeout_s + unload, and a mapper turning an abort into the right named error. */
  private callSignal(caller?: AbortSignal): CallDeadline {
    this.assertLive();
    return callDeadline(this.role, this.opts.spec.timeout_s, this.lifetime.signal, caller);
  }

  private checkLength(model: LlamaModel, texts: string[], maxTokens: number): void {
    const ctx = this.loaded?.context?.contextSize ?? this.opts.spec.context_length;
    const promptTokens = texts.reduce((n, t) => n + model.tokenize(t).length, 0);
    if (promptTokens + maxTokens + TEMPLATE_MARGIN_TOKENS > ctx) {
      throw new InputError(
        `${this.role}: prompt of ${promptTokens} tokens plus max_tokens ${maxTokens} does not fit the context of ${ctx} tokens (context_length); shorten the prompt`,
      );
    }
  }

  private grammar(llama: Llama, schema: Record<string, unknown>): Promise<JsonGrammar> {
    const key = JSON.stringify(schema);
    let g = this.grammars.get(key);
    if (!g) {
      g = (llama.createGrammarForJsonSchema(schema as never) as Promise<JsonGrammar>).catch((err: unknown) => {
        this.grammars.delete(key);
        throw new InputError(`${this.role}: unsupported JSON schema: ${errorMessage(err)}`);
      });
      this.grammars.set(key, g);
    }
    return g;
  }

  private touch(): void {
    this.lastUsedAt = Date.now();
    this.opts.onUse?.(this);
  }

  private loadedOrThrow(): Loaded {
    if (!this.loaded) throw new DisposedError(`${this.role}: model was unloaded`);
    return this.loaded;
  }

  private assertLive(): void {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
  }
}

async function disposeLoaded(l: Loaded): Promise<void> {
  const embedding = await l.embedding?.catch(() => undefined);
  await embedding?.dispose();
  for (const s of l.freeSequences.splice(0)) await s.dispose();
  await l.context?.dispose();
  await l.model.dispose();
}
