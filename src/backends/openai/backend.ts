import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, errorMessage, fetchFailure, InputError } from '../../core/errors.js';
import { redactUrl, type Logger } from '../../log/logger.js';
import { describeBody } from '../http-body.js';
import { remoteCapabilities } from '../remote-capabilities.js';
import { PROBE_TIMEOUT_MS, RemoteBackend } from '../remote-backend.js';
import type { Audio, Backend, Capability, GenerateRequest, GenerateResult, TranscribeResult } from '../types.js';
import { sseData } from './sse.js';
import { writeWav16 } from '../../media/audio/wav-writer.js';

/** The prompt that turns a chat model with audio input into a transcriber. */
const TRANSCRIBE_PROMPT = 'Transcribe the speech in this audio exactly. Answer with the transcript only.';

export interface OpenAIBackendOptions {
  role: string;
  spec: ModelConfig;
  log: Logger;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: 'input_audio'; input_audio: { data: string; format: 'wav' } };

interface ChatCompletion {
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { completion_tokens?: number };
  error?: { message?: string };
}
interface ChatChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { completion_tokens?: number } | null;
  error?: { message?: string; type?: string; code?: string | number | null };
}

/**
 * Any OpenAI-compatible chat-completions server (llama.cpp's llama-server with the
 * Qwen2.5-Omni GGUF and its mmproj, LocalAI, vLLM, LM Studio). Images go as `image_url` data
 * URIs with their MIME type, audio as `input_audio` WAV, a JSON schema as
 * `response_format: {type: json_schema}`; answers stream over SSE when the caller wants
 * tokens. Every failure is a named error that says what the server did: a 4xx about the
 * request is an InputError, the rest (5xx, HTML, bad JSON, a stream cut short, a deadline)
 * a BackendError or TimeoutError. models.<role>.url ends in /v1.
 */
export class OpenAIBackend extends RemoteBackend implements Backend {
  readonly kind = 'openai';
  readonly capabilities: ReadonlySet<Capability>;
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: OpenAIBackendOptions) {
    super(opts.role, opts.spec);
    this.capabilities = remoteCapabilities(opts.role, opts.spec);
    this.base = opts.spec.url.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? fetch;
  }

  /** Checks the server answers GET /models; the model need not be listed (llama-server names it by file). */
  async start(signal?: AbortSignal): Promise<void> {
    this.assertLive();
    if (!this.base) throw new BackendError(`${this.role}: set models.${this.role}.url to the server's /v1 URL`);
    await this.probe(signal, `no answer within ${PROBE_TIMEOUT_MS / 1000} s`, async (probe) => {
      const res = await this.request('GET', '/models', undefined, probe);
      const body = await this.readJson<{ data?: { id?: string }[] }>(res, 'GET /models');
      const ids = (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
      if (this.opts.spec.model && ids.length > 0 && !ids.includes(this.opts.spec.model)) {
        this.opts.log.warn({ module: 'openai', role: this.role, model: this.opts.spec.model, served: ids }, 'the server does not list this model name');
      }
    });
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.assertLive();
    const started = Date.now();
    this.checkRequest(req);
    const body: Record<string, unknown> = {
      model: this.wireModel,
      messages: await this.wireMessages(req),
      max_tokens: req.maxTokens ?? this.opts.spec.max_tokens,
      temperature: req.temperature ?? this.opts.spec.temperature,
      stream: req.onToken !== undefined,
    };
    if (req.jsonSchema) body.response_format = { type: 'json_schema', json_schema: { name: 'answer', schema: req.jsonSchema, strict: true } };
    return this.call(req.signal, async (signal) => {
      const res = await this.request('POST', '/chat/completions', body, signal);
      const { text, tokens } = req.onToken ? await this.readStream(res, req.onToken) : await this.readCompletion(res);
      return this.answered(req, text, tokens, started);
    });
  }

  /** A chat model that hears (Qwen2.5-Omni) transcribes when asked to. */
  async transcribe(audio: Audio, signal?: AbortSignal): Promise<TranscribeResult> {
    if (!this.capabilities.has('audio_in')) throw new InputError(`${this.role}: ${this.model} does not take audio`);
    const r = await this.generate({ messages: [{ role: 'user', content: TRANSCRIBE_PROMPT }], audio, temperature: 0, ...(signal ? { signal } : {}) });
    return { text: r.text.trim(), model: this.model, latencyMs: r.latencyMs };
  }

  /** POST /embeddings: one vector per text. */
  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    this.assertLive();
    if (!this.capabilities.has('embedding')) throw new InputError(`${this.role}: ${this.model} is not an embedding model`);
    if (texts.length === 0) return [];
    return this.call(signal, async (s) => {
      const res = await this.request('POST', '/embeddings', { model: this.wireModel, input: texts }, s);
      const body = await this.readJson<{ data?: { index?: number; embedding?: number[] }[] }>(res, 'POST /embeddings');
      const rows = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      if (rows.length !== texts.length || rows.some((r) => !Array.isArray(r.embedding))) {
        throw new BackendError(`${this.role}: /embeddings returned ${rows.length} vectors for ${texts.length} texts`);
      }
      return rows.map((r) => Float32Array.from(r.embedding ?? []));
    });
  }

  // --- internals ---

  /** The last user message carries the images and audio as content parts, text last (checkRequest ran). */
  private async wireMessages(req: GenerateRequest): Promise<unknown[]> {
    const parts: ContentPart[] = (await this.remoteImages(req)).map((img) => ({
      type: 'image_url',
      image_url: { url: `data:${img.mime};base64,${img.bytes.toString('base64')}` },
    }));
    if (req.audio) parts.push({ type: 'input_audio', input_audio: { data: writeWav16(req.audio).toString('base64'), format: 'wav' } });
    const out: unknown[] = req.messages.slice(0, -1).map((m) => ({ role: m.role, content: m.content }));
    const last = req.messages.at(-1)?.content ?? '';
    out.push({ role: 'user', content: parts.length > 0 ? [...parts, { type: 'text', text: last }] : last });
    return out;
  }

  private async request(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: method === 'POST' && (body as { stream?: boolean }).stream ? 'text/event-stream' : 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.spec.api_key) headers.authorization = `Bearer ${this.opts.spec.api_key}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.base}${path}`, { method, headers, signal, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new BackendError(`${this.role}: cannot reach ${redactUrl(this.base)} (${fetchFailure(err)})`);
    }
    if (!res.ok) throw await this.httpError(res, `${method} ${path}`);
    return res;
  }

  /** An error status as a named error carrying the server's own message (OpenAI `{error:{message,type,code}}`). */
  private async httpError(res: Response, what: string): Promise<Error> {
    const raw = await res.text().catch(() => '');
    let detail = describeBody(raw, res.headers.get('content-type'));
    try {
      const j = JSON.parse(raw) as { error?: { message?: string; type?: string; code?: unknown } | string; message?: string };
      if (typeof j.error === 'string') detail = j.error;
      else if (j.error?.message) detail = `${j.error.message}${j.error.type ? ` (${j.error.type})` : ''}`;
      else if (j.message) detail = j.message;
    } catch {
      // not JSON: detail describes the body
    }
    const msg = `${this.role}: ${what} answered ${res.status} ${res.statusText}: ${detail}`.trim();
    if (res.status === 401 || res.status === 403) return new BackendError(`${msg} (check models.${this.role}.api_key)`);
    if (res.status === 404) return new BackendError(`${msg} (does models.${this.role}.url ${redactUrl(this.base)} end in /v1?)`);
    if (res.status === 400 || res.status === 413 || res.status === 415 || res.status === 422) return new InputError(msg);
    return new BackendError(msg);
  }

  private async readJson<T>(res: Response, what: string): Promise<T> {
    const raw = await res.text();
    try {
      return JSON.parse(raw) as T;
    } catch {
      throw new BackendError(`${this.role}: ${what} answered ${describeBody(raw, res.headers.get('content-type'))}, not JSON`);
    }
  }

  private async readCompletion(res: Response): Promise<{ text: string; tokens: number }> {
    const body = await this.readJson<ChatCompletion>(res, 'POST /chat/completions');
    if (body.error?.message) throw new BackendError(`${this.role}: the server reported: ${body.error.message}`);
    const choice = body.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== 'string') throw new BackendError(`${this.role}: the answer has no choices[0].message.content`);
    return { text: content, tokens: body.usage?.completion_tokens ?? 0 };
  }

  /** SSE chunks until `[DONE]`; a stream that ends without it (and without a finish_reason) was cut. */
  private async readStream(res: Response, onToken: (text: string) => void): Promise<{ text: string; tokens: number }> {
    if (!res.body) throw new BackendError(`${this.role}: the streamed answer has no body`);
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) {
      // Some servers ignore stream:true and answer in one JSON document.
      const whole = await this.readCompletion(res);
      if (whole.text) onToken(whole.text);
      return whole;
    }
    let text = '';
    let chunks = 0;
    let tokens = 0;
    let finished = false;
    try {
      for await (const data of sseData(res.body)) {
        if (data.trim() === '[DONE]') return { text, tokens: tokens || chunks };
        let chunk: ChatChunk;
        try {
          chunk = JSON.parse(data) as ChatChunk;
        } catch {
          throw new BackendError(`${this.role}: stream chunk ${chunks + 1} is not JSON: ${JSON.stringify(data.slice(0, 80))}`);
        }
        if (chunk.error) throw new BackendError(`${this.role}: the server reported mid-stream: ${chunk.error.message ?? JSON.stringify(chunk.error)}`);
        chunks++;
        const choice = chunk.choices?.[0];
        const piece = choice?.delta?.content;
        if (piece) {
          text += piece;
          onToken(piece);
        }
        if (choice?.finish_reason) finished = true;
        if (chunk.usage?.completion_tokens) tokens = chunk.usage.completion_tokens;
      }
    } catch (err) {
      if (err instanceof BackendError || err instanceof InputError) throw err;
      // an abort is named by call(); anything else is the connection dying
      throw new BackendError(`${this.role}: the stream broke after ${chunks} chunks: ${errorMessage(err)}`);
    }
    if (!finished) throw new BackendError(`${this.role}: the stream stopped midway (after ${chunks} chunks, no finish_reason and no [DONE])`);
    return { text, tokens: tokens || chunks };
  }
}
