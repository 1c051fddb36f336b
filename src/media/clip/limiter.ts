import { CapacityError } from '../../core/errors.js';

/**
 * At most `max` tasks at once (each capture holds a camera connection and an ffmpeg child);
 * up to `maxWaiting` more wait their turn, beyond that a CapacityError says no at once.
 */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly max: number,
    readonly maxWaiting: number,
  ) {}

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.max) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new CapacityError(`too many clip captures (${this.running} running, ${this.waiting.length} waiting); try again later`);
      }
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new CapacityError('clip capture cancelled while waiting for a free slot'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(turn);
      });
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // hand the slot straight to the next waiter, so running never exceeds max
      if (next) next();
      else this.running--;
    }
  }
}
