import type { Gauge, Registry } from 'prom-client';
import { CapacityError, errorMessage } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { asWorkOf, currentReceipt, type Receipt } from '../mqtt/receipt.js';
import { SchedulerCounters } from './counters.js';
import { JOB_KINDS, kindPriority, type Job, type JobKind } from './job.js';

export interface SchedulerOptions {
  /** Jobs running at once, all kinds. */
  concurrency: number;
  /** Jobs waiting per source. */
  maxQueuePerSource: number;
  /** Bound on bytes held by waiting jobs. */
  maxQueuedBytes: number;
}

interface SourceQueue {
  source: string;
  items: { job: Job; at: number }[];
  running: boolean;
  /** ms since epoch before which the source may not start (cooldown). */
  readyAt: number;
}

export type SubmitResult = 'queued' | 'coalesced';

/**
 * One scheduler for every job kind. Per-source FIFO queues, one running job per source;
 * coalescing sources keep only their newest waiting job (latest wins); a cooldown after each
 * completed job; priority voice > ask > clip > snapshot among ready sources; a global
 * concurrency limit (backends add their own per-backend limits); and a bound on queued bytes.
 * Every job ends in exactly one counter: coalesced, deduplicated, dropped, failed, completed
 * or rejected.
 */
export class Scheduler {
  readonly counters: SchedulerCounters;
  private readonly queues = new Map<string, SourceQueue>();
  private running = 0;
  private queuedBytes = 0;
  private queuedCount = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = 0;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly lifetime = new AbortController();
  private idleWaiters: (() => void)[] = [];
  /** The spooled input each job works for (see mqtt/receipt.ts): released when the job ends. */
  private readonly receipts = new WeakMap<Job, Receipt>();

  constructor(
    private readonly opts: SchedulerOptions,
    registry: Registry,
    private readonly log: Logger,
    private readonly depthGauge?: Gauge<'queue'>,
  ) {
    this.counters = new SchedulerCounters(registry);
  }

  /** Jobs waiting (not running). */
  get depth(): number {
    return this.queuedCount;
  }
  get active(): number {
    return this.running;
  }
  get bytesQueued(): number {
    return this.queuedBytes;
  }

  /** Queues a job; throws CapacityError (counted as dropped) when a bound says no. */
  submit(job: Job): SubmitResult {
    if (this.stopped) {
      this.counters.inc('dropped', job.kind);
      throw new CapacityError('the scheduler is stopped');
    }
    let q = this.queues.get(job.source);
    if (!q) {
      q = { source: job.source, items: [], running: false, readyAt: 0 };
      this.queues.set(job.source, q);
    }
    if (job.coalesce) {
      const i = q.items.findIndex((it) => it.job.coalesce);
      const old = i >= 0 ? q.items[i] : undefined;
      if (old && this.queuedBytes - old.job.bytes + job.bytes <= this.opts.maxQueuedBytes) {
        q.items[i] = { job, at: old.at };
        this.queuedBytes += job.bytes - old.job.bytes;
        this.counters.inc('coalesced', old.job.kind);
        this.counters.inc('queued', job.kind);
        this.hold(job);
        this.discard(old.job, 'coalesced');
        this.pump();
        return 'coalesced';
      }
    }
    if (q.items.length >= this.opts.maxQueuePerSource) {
      this.counters.inc('dropped', job.kind);
      throw new CapacityError(`queue for ${job.source} is full (${this.opts.maxQueuePerSource} jobs waiting)`);
    }
    if (this.queuedBytes + job.bytes > this.opts.maxQueuedBytes) {
      this.counters.inc('dropped', job.kind);
      const mb = (this.opts.maxQueuedBytes / 1_048_576).toFixed(0);
      throw new CapacityError(`queued jobs would exceed scheduler.max_queued_mb (${mb} MB); ${job.source} job dropped`);
    }
    q.items.push({ job, at: Date.now() });
    this.queuedBytes += job.bytes;
    this.queuedCount++;
    this.counters.inc('queued', job.kind);
    this.hold(job);
    this.pump(); // updates the depth gauge
    return 'queued';
  }

  /** Resolves when nothing waits and nothing runs (tests, bench, shutdown). */
  idle(): Promise<void> {
    if (this.queuedCount === 0 && this.running === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private discard(job: Job, reason: 'coalesced' | 'dropped'): void {
    try {
      job.onDiscard?.(reason);
    } catch (err) {
      this.log.error({ module: 'scheduler', err }, 'onDiscard failed');
    }
    // dropped here only at stop: the input runs again at the next start
    this.release(job, reason === 'dropped');
  }

  private hold(job: Job): void {
    const r = currentReceipt();
    if (!r) return;
    r.hold();
    this.receipts.set(job, r);
  }

  private release(job: Job, keep: boolean): void {
    this.receipts.get(job)?.release(keep);
    this.receipts.delete(job);
  }

  private pickNext(now: number): SourceQueue | undefined {
    let best: SourceQueue | undefined;
    let bestKey: [number, number] = [Infinity, Infinity];
    for (const q of this.queues.values()) {
      const head = q.items[0];
      if (!head || q.running || q.readyAt > now) continue;
      const key: [number, number] = [kindPriority(head.job.kind), head.at];
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = q;
        bestKey = key;
      }
    }
    return best;
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    while (this.running < this.opts.concurrency) {
      const q = this.pickNext(now);
      if (!q) break;
      const item = q.items.shift();
      if (!item) break;
      this.queuedBytes -= item.job.bytes;
      this.queuedCount--;
      this.start(q, item.job);
    }
    this.updateDepth();
    this.armCooldownTimer(now);
    this.checkIdle();
  }

  /** Wakes the pump when the earliest cooled-down source becomes ready. */
  private armCooldownTimer(now: number): void {
    let next = Infinity;
    for (const q of this.queues.values()) if (q.items.length > 0 && !q.running && q.readyAt > now) next = Math.min(next, q.readyAt);
    if (next === Infinity || (this.timer && this.timerAt <= next)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, next - now);
    this.timer.unref();
  }

  private start(q: SourceQueue, job: Job): void {
    q.running = true;
    this.running++;
    // the job runs as its own input's work, not as the work of whichever input woke the pump
    const p = asWorkOf(this.receipts.get(job), async () => {
      let cutShort = false;
      try {
        const outcome = await job.run(this.lifetime.signal);
        this.counters.inc(outcome, job.kind);
        if (outcome === 'completed' && job.cooldownMs) q.readyAt = Date.now() + job.cooldownMs;
      } catch (err) {
        // a model or capture slot that said no at once is a capacity refusal, not a failure
        const refused = err instanceof CapacityError;
        cutShort = this.stopped;
        this.counters.inc(refused ? 'dropped' : 'failed', job.kind);
        this.log.warn({ module: 'scheduler', source: job.source, err: errorMessage(err) }, refused ? 'job refused for capacity' : 'job failed');
      } finally {
        this.release(job, cutShort);
        q.running = false;
        this.running--;
        if (q.items.length === 0 && q.readyAt <= Date.now()) this.queues.delete(q.source);
        this.pump();
      }
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private updateDepth(): void {
    if (!this.depthGauge) return;
    const byKind = new Map<JobKind, number>(JOB_KINDS.map((k) => [k, 0]));
    for (const q of this.queues.values()) for (const it of q.items) byKind.set(it.job.kind, (byKind.get(it.job.kind) ?? 0) + 1);
    for (const [k, n] of byKind) this.depthGauge.set({ queue: k }, n);
  }

  private checkIdle(): void {
    if (this.queuedCount !== 0 || this.running !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Drops waiting jobs (counted as dropped), aborts running ones and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const q of this.queues.values()) {
      for (const it of q.items) {
        this.counters.inc('dropped', it.job.kind);
        this.discard(it.job, 'dropped');
      }
      q.items = [];
    }
    this.queuedBytes = 0;
    this.queuedCount = 0;
    this.lifetime.abort();
    await Promise.allSettled([...this.inflight]);
    this.updateDepth();
    this.checkIdle();
  }
}
