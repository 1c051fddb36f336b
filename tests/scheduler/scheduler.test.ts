import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CapacityError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { Scheduler, type Job, type JobKind, type JobOutcome } from '../../src/scheduler/index.js';

const log = createLogger('silent');

function sched(over: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) {
  const registry = new Registry();
  return { s: new Scheduler({ concurrency: 1, maxQueuePerSource: 4, maxQueuedBytes: 1_000_000, ...over }, registry, log), registry };
}

/** A job that runs until released; records its start. */
function gated(kind: JobKind, source: string, log: string[], name: string, extra: Partial<Job> = {}) {
  let release!: (o: JobOutcome) => void;
  const done = new Promise<JobOutcome>((r) => (release = r));
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const job: Job = {
    kind, source, bytes: 10, ...extra,
    run: () => {
      log.push(name);
      started();
      return done;
    },
  };
  return { job, release: (o: JobOutcome = 'completed') => release(o), started: startedP };
}

function instant(kind: JobKind, source: string, order: string[], name: string, extra: Partial<Job> = {}): Job {
  return { kind, source, bytes: 10, ...extra, run: () => { order.push(name); return Promise.resolve('completed'); } };
}

describe('Scheduler', () => {
  it('keeps only the newest waiting snapshot of a busy camera (latest wins, counted coalesced)', async () => {
    const { s, registry } = sched();
    const order: string[] = [];
    const first = gated('snapshot', 'camera:a', order, 'first', { coalesce: true });
    s.submit(first.job);
    await first.started;
    const discarded: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const r = s.submit(instant('snapshot', 'camera:a', order, `n${i}`, { coalesce: true, onDiscard: (why) => discarded.push(`n${i}:${why}`) }));
      expect(r).toBe(i === 1 ? 'queued' : 'coalesced');
    }
    expect(s.depth).toBe(1);
    first.release();
    await s.idle();
    expect(order).toEqual(['first', 'n5']);
    expect(discarded).toEqual(['n1:coalesced', 'n2:coalesced', 'n3:coalesced', 'n4:coalesced']);
    expect(s.counters.totals).toMatchObject({ queued: 6, coalesced: 4, completed: 2, dropped: 0 });
    const text = await registry.metrics();
    expect(text).toMatch(/sarai_scheduler_coalesced_total\{kind="snapshot"\} 4/);
    expect(text).toMatch(/sarai_scheduler_completed_total\{kind="snapshot"\} 2/);
  });

  it('waits out a camera cooldown after a completed job, then runs its newest snapshot', async () => {
    const { s } = sched();
    const times: number[] = [];
    const job = (): Job => ({ kind: 'snapshot', source: 'camera:a', bytes: 1, coalesce: true, cooldownMs: 150, run: () => { times.push(performance.now()); return Promise.resolve('completed'); } });
    s.submit(job());
    await s.idle();
    s.submit(job());
    s.submit(job());
    await s.idle();
    expect(times).toHaveLength(2);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(140);
    expect(s.counters.totals).toMatchObject({ coalesced: 1, completed: 2 });
  });

  it('starts the highest priority among ready sources: voice > ask > clip > snapshot', async () => {
    const { s } = sched();
    const order: string[] = [];
    const blocker = gated('snapshot', 'camera:z', order, 'blocker');
    s.submit(blocker.job);
    await blocker.started;
    s.submit(instant('snapshot', 'camera:a', order, 'snapshot'));
    s.submit(instant('clip', 'clip:a', order, 'clip'));
    s.submit(instant('ask', 'ask', order, 'ask'));
    s.submit(instant('voice', 'voice:kitchen', order, 'voice'));
    blocker.release();
    await s.idle();
    expect(order).toEqual(['blocker', 'voice', 'ask', 'clip', 'snapshot']);
  });

  it('runs up to `concurrency` jobs at once, one per source', async () => {
    const { s } = sched({ concurrency: 2 });
    const order: string[] = [];
    const a = gated('snapshot', 'camera:a', order, 'a');
    const a2 = gated('snapshot', 'camera:a', order, 'a2');
    const b = gated('snapshot', 'camera:b', order, 'b');
    const c = gated('snapshot', 'camera:c', order, 'c');
    for (const j of [a, a2, b, c]) s.submit(j.job);
    await Promise.all([a.started, b.started]);
    expect(s.active).toBe(2);
    expect(order).toEqual(['a', 'b']);
    a.release();
    await a2.started;
    b.release();
    await c.started;
    a2.release();
    c.release();
    await s.idle();
  });

  it('refuses work past the byte bound and the per-source bound (counted dropped)', async () => {
    const { s } = sched({ maxQueuedBytes: 100, maxQueuePerSource: 2 });
    const order: string[] = [];
    const blocker = gated('ask', 'ask', order, 'blocker');
    s.submit(blocker.job);
    await blocker.started;
    s.submit({ ...instant('snapshot', 'camera:a', order, 'a'), bytes: 60 });
    expect(() => s.submit({ ...instant('snapshot', 'camera:b', order, 'b'), bytes: 60 })).toThrow(CapacityError);
    expect(() => s.submit({ ...instant('snapshot', 'camera:b', order, 'b'), bytes: 60 })).toThrow(/max_queued_mb/);
    s.submit(instant('ask', 'ask', order, 'q1'));
    s.submit(instant('ask', 'ask', order, 'q2'));
    expect(() => s.submit(instant('ask', 'ask', order, 'q3'))).toThrow(/queue for ask is full/);
    expect(s.counters.totals.dropped).toBe(3);
    blocker.release();
    await s.idle();
    expect(s.bytesQueued).toBe(0);
  });

  it('counts failures, deduplicated and rejected outcomes; stop drops waiting jobs and awaits running ones', async () => {
    const { s } = sched();
    s.submit({ kind: 'snapshot', source: 'x', bytes: 1, run: () => Promise.reject(new Error('model broke')) });
    s.submit({ kind: 'snapshot', source: 'y', bytes: 1, run: () => Promise.resolve('deduplicated') });
    s.submit({ kind: 'snapshot', source: 'z', bytes: 1, run: () => Promise.resolve('rejected') });
    // a model whose queue_limit is reached says no at once: a capacity refusal, not a failure
    s.submit({ kind: 'clip', source: 'w', bytes: 1, run: () => Promise.reject(new CapacityError('omni: busy')) });
    await s.idle();
    expect(s.counters.totals).toMatchObject({ failed: 1, deduplicated: 1, rejected: 1, dropped: 1 });
    const order: string[] = [];
    const running = gated('clip', 'clip:a', order, 'running');
    s.submit(running.job);
    await running.started;
    let dropped = 0;
    s.submit({ ...instant('clip', 'clip:b', order, 'never'), onDiscard: () => dropped++ });
    const stopping = s.stop();
    running.release();
    await stopping;
    expect(order).toEqual(['running']);
    expect(dropped).toBe(1);
    expect(() => s.submit(instant('ask', 'ask', order, 'late'))).toThrow(/stopped/);
  });
});
