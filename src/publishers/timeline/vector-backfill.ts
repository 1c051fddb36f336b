import { setImmediate } from 'node:timers/promises';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import type { ModelRouter } from '../../router/types.js';
import type { TimelineStore } from './store.js';

/** Embeds texts with the embedding role and says which model made the vectors. */
export type EmbedTexts = (texts: string[], signal: AbortSignal) => Promise<{ vectors: Float32Array[]; model: string }>;

/** EmbedTexts through the router's embedding role. */
export function routerEmbedTexts(router: Pick<ModelRouter, 'embed'>): EmbedTexts {
  return async (texts, signal) => {
    const r = await router.embed(texts, signal);
    return { vectors: r.value, model: r.model };
  };
}

export interface BackfillOptions {
  /** Descriptions per embedding call. */
  batch: number;
  /** After a failure (no embedding role, model down), wait this long before trying again (ms). */
  retryMs: number;
  now?: () => number;
}

/**
 * Gives every timeline event a vector of its description, oldest first, in the background:
 * new events and those stored before (or while the embedding role was down) are the same
 * work. One batch at a time, yielding between batches, so camera results are never queued
 * behind it. Without an embedding role it waits `retryMs` and history questions use FTS5.
 */
export class VectorBackfill {
  private running?: Promise<void>;
  private again = false;
  private retryAt = 0;
  private stopped = false;
  private readonly ac = new AbortController();
  /** The last failure, for the log and the tests; cleared by a success. */
  lastError?: string;

  constructor(
    private readonly store: TimelineStore,
    private readonly embed: EmbedTexts,
    private readonly log: Logger,
    private readonly opts: BackfillOptions,
  ) {}

  /** There is new work (an event was added, or the bridge started). */
  kick(): void {
    if (this.stopped || (this.opts.now?.() ?? Date.now()) < this.retryAt) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves when the current pass has finished (tests, benches). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.ac.abort();
  }

  private async run(): Promise<void> {
    for (;;) {
      await setImmediate();
      if (this.stopped) return;
      const rows = this.store.index.unembedded(this.opts.batch);
      if (rows.length === 0) return;
      try {
        const { vectors, model } = await this.embed(rows.map((r) => r.text), this.ac.signal);
        if (this.stopped) return;
        this.store.index.putVectors(model, rows, vectors);
        if (this.lastError) this.log.info({ module: 'timeline' }, 'event embeddings resumed');
        this.lastError = undefined;
      } catch (err) {
        if (this.stopped) return;
        const msg = errorMessage(err);
        if (msg !== this.lastError) this.log.warn({ module: 'timeline', err: msg.slice(0, 300) }, 'events not embedded; history questions use keyword (FTS5) search until the embedding role answers');
        this.lastError = msg;
        this.retryAt = (this.opts.now?.() ?? Date.now()) + this.opts.retryMs;
        return;
      }
    }
  }
}
