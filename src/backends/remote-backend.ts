import { callDeadline, type CallDeadline } from '../core/abort.js';
import type { ModelConfig } from '../config/schema/index.js';
import { DisposedError, errorMessage, InputError } from '../core/errors.js';
import type { BackendHealth } from './types.js';

/**
 * What every backend on a remote server (openai, ollama) shares: health kept from the last
 * request, a deadline of timeout_s on each call, and dispose() aborting what is in flight.
 */
export abstract class RemoteBackend {
  abstract readonly kind: string;
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

  /** The call's signal: the deadline (timeout_s), dispose, and the caller's own abort. */
  protected callSignal(caller?: AbortSignal): CallDeadline {
    return callDeadline(this.role, this.spec.timeout_s, this.lifetime.signal, caller);
  }

  /** Request errors are kept for the problem sensor; the backend stays usable. */
  protected fail(err: unknown): unknown {
    if (!(err instanceof InputError)) this.state = { state: this.state.state === 'failed' ? 'failed' : 'ready', lastError: errorMessage(err) };
    return err;
  }

  protected assertLive(): void {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
  }
}
