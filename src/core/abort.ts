import { BackendError, TimeoutError } from './errors.js';

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts (a hung backend cannot hold the caller). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** One call's signal and how to name its abort. */
export interface CallDeadline {
  signal: AbortSignal;
  /** Clears the deadline timer; call when the work ends. */
  done: () => void;
  /** The named reason for an abort (TimeoutError, DisposedError, the caller's own), else `err`. */
  mapError: (err: unknown) => unknown;
}

/**
 * A backend call's signal: the `timeoutS` deadline (TimeoutError), the backend's lifetime
 * (aborted by dispose) and the caller's own abort, whichever comes first.
 */
export function callDeadline(role: string, timeoutS: number, lifetime: AbortSignal, caller?: AbortSignal): CallDeadline {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new TimeoutError(`${role}: no answer within ${timeoutS} s (timeout_s)`)), timeoutS * 1000);
  const signal = AbortSignal.any([timeout.signal, lifetime, ...(caller ? [caller] : [])]);
  const mapError = (err: unknown): unknown => {
    if (timeout.signal.aborted) return timeout.signal.reason as unknown;
    if (lifetime.aborted) return lifetime.reason as unknown;
    if (caller?.aborted) return caller.reason instanceof Error ? caller.reason : new BackendError(`${role}: aborted`);
    return err;
  };
  return { signal, done: () => clearTimeout(timer), mapError };
}

/** Waits `ms`, or less when `signal` aborts (resolves either way: a retry loop's pause). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
