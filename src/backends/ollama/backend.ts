import { Ollama, type ChatRequest, type ChatResponse, type Message, type Options } from 'ollama';
import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, errorMessage, InputError } from '../../core/errors.js';
import { redactUrl, type Logger } from '../../log/logger.js';
import { describeBody } from '../http-body.js';
import { remoteCapabilities } from '../remote-capabilities.js';
import { RemoteBackend } from '../remote-backend.js';
import type { Backend, Capability, GenerateRequest, GenerateResult } from '../types.js';

export interface OllamaBackendOptions {
  role: string;
  spec: ModelConfig;
  log: Logger;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

/**
 * An Ollama server through the `ollama` client: the remote expert (SOLAR) and vision models.
 * Images go as bytes (never strings: the client reads a string that names a file from disk),
 * `keep_alive` and `options.num_ctx` from config, a JSON schema as `format`, embeddings over
 * /api/embed. Each call gets its own client whose fetch carries the call's AbortSignal
 * (deadline timeout_s, the caller's abort, dispose). Errors name what the server said.
 */
export class OllamaBackend extends RemoteBackend implements Backend {
  readonly kind = 'ollama';
  readonly capabilities: ReadonlySet<Capability>;
  private readonly host: string;

  constructor(private readonly opts: OllamaBackendOptions) {
    super(opts.role, opts.spec);
    // Ollama's chat API has no audio input, whatever the role says.
    this.capabilities = new Set([...remoteCapabilities(opts.role, opts.spec)].filter((c) => c !== 'audio_in' && c !== 'audio_out'));
    this.host = opts.spec.url.replace(/\/+$/, '');
  }

  /** Checks the server answers /api/version and warns when the model is not pulled there. */
  async start(signal?: AbortSignal): Promise<void> {
    this.assertLive();
    if (!this.host) throw new BackendError(`${this.role}: set models.${this.role}.url to the Ollama server (http://host:11434)`);
    if (!this.wireModel) throw new BackendError(`${this.role}: set models.${this.role}.model to the Ollama model name`);
    await this.probe(signal, `${redactUrl(this.host)} did not answer in time`, async (probe) => {
      const client = this.client(probe);
      await client.version();
      const tags = await client.list();
      const names = tags.models.map((m) => m.name);
      if (!names.some((n) => n === this.wireModel || n === `${this.wireModel}:latest`)) {
        this.opts.log.warn({ module: 'ollama', role: this.role, model: this.wireModel, pulled: names }, `the model is not pulled on the server: run \`ollama pull ${this.wireModel}\` there`);
      }
    });
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.assertLive();
    const started = Date.now();
    this.checkRequest(req, 'Ollama chat does not take audio');
    const images = (await this.remoteImages(req)).map((img) => new Uint8Array(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength));
    const messages: Message[] = req.messages.map((m) => ({ role: m.role, content: m.content }));
    if (images.length > 0) (messages[messages.length - 1] as Message).images = images;
    const base: Omit<ChatRequest, 'stream'> = {
      model: this.wireModel,
      messages,
      options: this.options(req),
      ...(this.opts.spec.keep_alive ? { keep_alive: this.opts.spec.keep_alive } : {}),
      ...(req.jsonSchema ? { format: req.jsonSchema } : {}),
    };
    return this.call(req.signal, async (signal) => {
      const client = this.client(signal);
      let text = '';
      let tokens = 0;
      if (req.onToken) {
        const stream = await client.chat({ ...base, stream: true });
        let last: ChatResponse | undefined;
        for await (const part of stream) {
          const piece = part.message.content;
          if (piece) {
            text += piece;
            req.onToken(piece);
          }
          last = part;
        }
        tokens = last?.eval_count ?? 0;
      } else {
        const res = await client.chat({ ...base, stream: false });
        if (typeof res.message?.content !== 'string') throw new BackendError(`${this.role}: the answer has no message.content`);
        text = res.message.content;
        tokens = res.eval_count ?? 0;
      }
      return this.answered(req, text, tokens, started);
    });
  }

  /** POST /api/embed: one vector per text. */
  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    this.assertLive();
    if (!this.capabilities.has('embedding')) throw new InputError(`${this.role}: ${this.model} is not an embedding model`);
    if (texts.length === 0) return [];
    return this.call(signal, async (s) => {
      const res = await this.client(s).embed({
        model: this.wireModel,
        input: texts,
        ...(this.opts.spec.keep_alive ? { keep_alive: this.opts.spec.keep_alive } : {}),
        ...(this.opts.spec.num_ctx > 0 ? { options: { num_ctx: this.opts.spec.num_ctx } } : {}),
      });
      if (!Array.isArray(res.embeddings) || res.embeddings.length !== texts.length) {
        throw new BackendError(`${this.role}: /api/embed returned ${Array.isArray(res.embeddings) ? res.embeddings.length : 'no'} vectors for ${texts.length} texts`);
      }
      return res.embeddings.map((v) => Float32Array.from(v));
    });
  }

  // --- internals ---

  private options(req: GenerateRequest): Partial<Options> {
    return {
      temperature: req.temperature ?? this.opts.spec.temperature,
      num_predict: req.maxTokens ?? this.opts.spec.max_tokens,
      ...(this.opts.spec.num_ctx > 0 ? { num_ctx: this.opts.spec.num_ctx } : {}),
    };
  }

  /** A client whose every request carries `signal` (the ollama client only aborts streams itself). */
  private client(signal: AbortSignal): Ollama {
    const f = this.opts.fetch ?? fetch;
    return new Ollama({
      host: this.host,
      ...(this.opts.spec.api_key ? { headers: { authorization: `Bearer ${this.opts.spec.api_key}` } } : {}),
      // AbortSignal.any is safe here: both signals live one call (it leaks on long-lived ones; see linkSignals)
      fetch: (input, init) => f(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
    });
  }

  /** Named errors from what the client threw (not an abort): the server's {error}, a dead connection. */
  protected override nameError(err: unknown): unknown {
    if (err instanceof BackendError || err instanceof InputError) return err;
    const e = err as { name?: string; status_code?: number; error?: string; cause?: { code?: string } };
    if (e.name === 'ResponseError') {
      const raw = String(e.error ?? errorMessage(err));
      const detail = raw.trimStart().startsWith('<') ? describeBody(raw, 'text/html') : raw.slice(0, 300);
      const msg = `${this.role}: Ollama answered ${e.status_code ?? '?'}: ${detail}`;
      if (e.status_code === 404) return new BackendError(`${msg} (is ${this.wireModel} pulled on ${redactUrl(this.host)}?)`);
      if (e.status_code === 400) return new InputError(msg);
      return new BackendError(msg);
    }
    const m = errorMessage(err);
    if (/did not receive done/i.test(m)) return new BackendError(`${this.role}: the stream stopped midway (no final "done" message)`);
    if (e.cause?.code || /fetch failed/i.test(m)) return new BackendError(`${this.role}: cannot reach ${redactUrl(this.host)} (${e.cause?.code ?? m})`);
    if (err instanceof SyntaxError) return new BackendError(`${this.role}: the answer is not JSON (${m})`);
    return new BackendError(`${this.role}: ${m}`);
  }

}
