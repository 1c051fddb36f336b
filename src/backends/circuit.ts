/**
 * A circuit breaker per backend: after `failures` consecutive failures the circuit opens and
 * requests skip the backend (so a dead server is not hammered); after `resetMs` one request
 * is let through as a probe (half-open): success closes the circuit, failure opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  private current: CircuitState = 'closed';

  constructor(
    readonly failures: number,
    readonly resetMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The state as of now (an open circuit whose reset time passed reads half_open). */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.resetMs) return 'half_open';
    return this.current;
  }

  /** ms since epoch when an open circuit lets a probe through (undefined when not open). */
  get retryAt(): number | undefined {
    return this.current === 'open' ? this.openedAt + this.resetMs : undefined;
  }

  /** Whether a request may go to the backend now; a half-open circuit lets exactly one probe through. */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.probing) return false;
    this.probing = true;
    this.current = 'half_open';
    return true;
  }

  /** Would allow() say yes, without taking the probe slot (for planning a route). */
  wouldAllow(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half_open' && !this.probing);
  }

  success(): void {
    this.consecutive = 0;
    this.probing = false;
    this.current = 'closed';
  }

  failure(): void {
    this.consecutive++;
    if (this.current === 'half_open' || this.consecutive >= this.failures) {
      this.current = 'open';
      this.openedAt = this.now();
    }
    this.probing = false;
  }

  /** A request that was let through but did not reach the backend (cancelled): frees a probe slot. */
  release(): void {
    this.probing = false;
  }
}
