import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The work one accepted input started, counted until it has all ended: the handlers that ran
 * for it, and the scheduler jobs they queued (a job queued anywhere under a handler's async
 * call tree holds the receipt of the message that caused it). When everything has ended the
 * receipt calls `onDone`, which removes the input from the spool; work that shutdown cut short
 * marks it `kept`, so the input stays spooled and runs again at the next start.
 */
export class Receipt {
  private holds = 1; // the handlers themselves, released by settle()
  private kept = false;
  private finished = false;

  constructor(private readonly onDone: (kept: boolean) => void) {}

  /** A job took on this input's work. */
  hold(): void {
    this.holds++;
  }

  /** That job ended; `keep` when it was cut short by shutdown rather than finished. */
  release(keep = false): void {
    if (keep) this.kept = true;
    this.drop();
  }

  /** The input is not worth running again after a restart: forget it now, whatever still runs. */
  letGo(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone(false);
  }

  /** Every handler of the message has returned (or thrown). */
  settle(): void {
    this.drop();
  }

  private drop(): void {
    if (this.finished || --this.holds > 0) return;
    this.finished = true;
    this.onDone(this.kept);
  }
}

const current = new AsyncLocalStorage<Receipt>();

/** Runs `fn` with `receipt` as the current input's receipt (for the jobs it queues). */
export function withReceipt<T>(receipt: Receipt, fn: () => T): T {
  return current.run(receipt, fn);
}

/** Runs `fn` for `receipt`'s input, or outside any input when none (a job never runs under another input's receipt). */
export function asWorkOf<T>(receipt: Receipt | undefined, fn: () => T): T {
  return receipt ? current.run(receipt, fn) : current.exit(fn);
}

/** Called by a handler whose input must not run again after a restart (e.g. "capture now"). */
export function letGoOfCurrentInput(): void {
  current.getStore()?.letGo();
}

/** The receipt of the input whose handler is running, if it was spooled. */
export function currentReceipt(): Receipt | undefined {
  return current.getStore();
}
