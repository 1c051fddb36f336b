import { callDeadline, linkSignals } from '../core/abort.js';
import type { ModelConfig } from '../config/schema/index.js';
import { BackendError, DisposedError, errorMessage, InputError, TimeoutError } from '../core/errors.js';
import { prepareRemoteImage, type RemoteImage } from './image-payload.js';
import { checkSchema, parseJsonAnswer } from './json-answer.js';
import type { BackendHealth, Capability, GenerateRequest, GenerateResult } from './types.js';

/** How long start() waits for the server (ms): a health probe, not a model call. */
export const PROBE_TIMEOUT_MS = 10_000;

/**
 * What every backend on a remote server (openai, ollama) shares: health kept from the last
 * request, the start-up probe, the checks a chat request passes before anything is sent, a
 * deadline of timeout_s on each call with its aborts named, and dispose() aborting what is in
 * flight.
 */
export abstract class RemoteBackend {
  abstract readonly kind: string;
  abstract readonly capabilities: ReadonlySet<Capability>;
  readonly role: string;
  readonly model: string;
  protected state: BackendHealth = { state: 'idle' };
  protected disposed = false;
  /** Aborts in-flight requests on dispose. */
  protected readonly lifetime = new AbortController();

  constructor(
    role: string,
    protected readonly spec: ModelConfig,
  ) {
    this.role = role;
    this.model = spec.name || spec.model || role;
  }

  /** The model name sent in requests (`model`), or the server's only model when empty. */
  protected get wireModel(): string {
    return this.spec.model || this.spec.name;
  }

  health(): BackendHealth {
    return { ...this.state };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.lifetime.abort(new DisposedError(`${this.role}: backend disposed`));
    this.state = { state: 'idle' };
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /**
   * start()'s check of the server, ended by PROBE_TIMEOUT_MS (a TimeoutError saying
   * `timedOut`), dispose or the caller's abort; health follows the outcome.
   */
  protected async probe(caller: AbortSignal | undefined, timedOut: string, check: (signal: AbortSignal) => Promise<void>): Promise<void> {
    this.state = { state: 'starting' };
    const { signal, unlink } = linkSignals([AbortSignal.timeout(PROBE_TIMEOUT_MS), this.lifetime.signal, caller]);
    try {
      await check(signal);
      this.state = { state: 'ready' };
    } catch (err) {
      const e = signal.aborted ? this.abortReason(err, signal, caller, timedOut) : this.nameError(err);
      this.state = { state: 'failed', lastError: errorMessage(e) };
      throw e;
    } finally {
      unlink();
    }
  }

  /**
   * One request under the call deadline (timeout_s, dispose, the caller's abort): an abort
   * becomes its named reason, any other error goes through nameError(); both are kept for health.
   */
  protected async call<T>(caller: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { signal, done, mapError } = callDeadline(this.role, this.spec.timeout_s, this.lifetime.signal, caller);
    try {
      return await work(signal);
    } catch (err) {
      throw this.fail(signal.aborted ? mapError(err) : this.nameError(err));
    } finally {
      done();
    }
  }

  /** What a chat request must be before it is sent: inputs the model takes, a schema that compiles, the user's turn last. */
  protected checkRequest(req: GenerateRequest, noAudio = `${this.model} does not take audio`): void {
    if (req.images?.length && !this.capabilities.has('image')) throw new InputError(`${this.role}: ${this.model} does not take images`);
    if (req.audio && !this.capabilities.has('audio_in')) throw new InputError(`${this.role}: ${noAudio}`);
    if (req.jsonSchema) checkSchema(this.role, req.jsonSchema);
    const last = req.messages.at(-1);
    if (!last || last.role !== 'user') throw new InputError(`${this.role}: the last message must be the user's turn`);
  }

  /** The request's images checked and scaled for the server (models.<role>.image_size), in order. */
  protected async remoteImages(req: GenerateRequest): Promise<RemoteImage[]> {
    const images = req.images ?? [];
    const out: RemoteImage[] = [];
    for (const [i, bytes] of images.entries()) {
      const label = images.length > 1 ? `${this.role}: image ${i + 1} of ${images.length}` : `${this.role}: the image`;
      out.push(await prepareRemoteImage(bytes, this.spec.image_size, label));
    }
    return out;
  }

  /** The result of a chat request that answered (its JSON checked against the schema); health is ready again. */
  protected answered(req: GenerateRequest, text: string, tokens: number, started: number): GenerateResult {
    const result: GenerateResult = { text, model: this.model, tokens, latencyMs: Date.now() - started };
    if (req.jsonSchema) result.json = parseJsonAnswer(this.role, text, req.jsonSchema);
    this.state = { state: 'ready' };
    return result;
  }

  /** A request error that is not an abort, as a named error (the server's answer, a dead connection); as it is by default. */
  protected nameError(err: unknown): unknown {
    return err;
  }

  /** Request errors are kept for the problem sensor; the backend stays usable. */
  protected fail(err: unknown): unknown {
    if (!(err instanceof InputError)) this.state = { state: this.state.state === 'failed' ? 'failed' : 'ready', lastError: errorMessage(err) };
    return err;
  }

  protected assertLive(): void {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
  }

  /** The probe's abort as a named error: dispose's DisposedError, the caller's own reason, or the probe's timeout. */
  private abortReason(err: unknown, signal: AbortSignal, caller: AbortSignal | undefined, timedOut: string): unknown {
    const reason: unknown = signal.reason;
    if (reason instanceof DisposedError) return reason;
    if (caller?.aborted) return caller.reason instanceof Error ? caller.reason : new BackendError(`${this.role}: aborted`);
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return new TimeoutError(`${this.role}: ${timedOut}`);
    return reason instanceof Error ? reason : err;
  }
}
