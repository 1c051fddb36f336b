import { CapacityError } from '../core/errors.js';

/**
 * Bounds concurrent work on one model: at most `concurrency` run at once, at most `queueLimit`
 * wait (FIFO); beyond that, acquire() rejects at once with CapacityError. A waiter whose
 * signal aborts leaves the queue.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: { resolve: (release: () => void) => void; reject: (err: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  constructor(
    private readonly name: string,
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {}

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function; call it exactly once when the work ends. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.queueLimit) {
      return Promise.reject(
        new CapacityError(`${this.name}: busy (${this.running} running, ${this.waiting.length} queued; queue_limit ${this.queueLimit})`),
      );
    }
    return new Promise((resolve, reject) => {
      const entry: (typeof this.waiting)[number] = { resolve, reject, ...(signal ? { signal } : {}) };
      if (signal) {
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.waiting.push(entry);
    });
  }

  /** Rejects everything queued (on dispose). */
  rejectAll(err: unknown): void {
    for (const w of this.waiting.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) {
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(this.releaser()); // the slot passes straight to the next waiter
      } else {
        this.running--;
      }
    };
  }
}
