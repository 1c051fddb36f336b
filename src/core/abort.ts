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

/** A signal that aborts when any of its sources does, until `unlink` is called. */
export interface LinkedSignal {
  signal: AbortSignal;
  /** Detaches from the sources; call when the work ends. */
  unlink: () => void;
}

/**
 * AbortSignal.any without its leak: on Node 20 every AbortSignal.any() adds a WeakRef to each
 * source's set of dependants that is never pruned (~58 bytes a call: bench/abort-link.ts), and the
 * sources here are long-lived (a backend's or the scheduler's lifetime), so a bridge that runs
 * for months would keep one per call. This listens on each source and removes the listeners
 * when the work ends; the first source to abort gives its reason.
 */
export function linkSignals(sources: readonly (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const live = sources.filter((s): s is AbortSignal => s !== undefined);
  const already = live.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, unlink: () => undefined };
  }
  const listeners = live.map((source) => {
    const onAbort = (): void => {
      unlink();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', onAbort, { once: true });
    return { source, onAbort };
  });
  function unlink(): void {
    for (const { source, onAbort } of listeners) source.removeEventListener('abort', onAbort);
    listeners.length = 0;
  }
  return { signal: controller.signal, unlink };
}

/** One call's signal and how to name its abort. */
export interface CallDeadline {
  signal: AbortSignal;
  /** Clears the deadline timer and detaches from the lifetime and caller; call when the work ends. */
  done: () => void;
  /** True once timeout_s ran out (not the lifetime's or the caller's abort). */
  timedOut: () => boolean;
  /** The named reason for an abort (TimeoutError, DisposedError, the caller's own), else `err`. */
  mapError: (err: unknown) => unknown;
}

/**
 * A backend call's signal: the `timeoutS` deadline (TimeoutError), the backend's lifetime
 * (aborted by dispose) and the caller's own abort, whichever comes first.
 */
export function callDeadline(role: string, timeoutS: number, lifetime: AbortSignal | undefined, caller?: AbortSignal): CallDeadline {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new TimeoutError(`${role}: no answer within ${timeoutS} s (timeout_s)`)), timeoutS * 1000);
  const { signal, unlink } = linkSignals([timeout.signal, lifetime, caller]);
  const mapError = (err: unknown): unknown => {
    if (timeout.signal.aborted) return timeout.signal.reason as unknown;
    if (lifetime?.aborted) return lifetime.reason as unknown;
    if (caller?.aborted) return caller.reason instanceof Error ? caller.reason : new BackendError(`${role}: aborted`);
    return err;
  };
  return {
    signal,
    done: () => {
      clearTimeout(timer);
      unlink();
    },
    mapError,
    timedOut: () => timeout.signal.aborted,
  };
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
