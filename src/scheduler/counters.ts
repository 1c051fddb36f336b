import { Counter, type Registry } from 'prom-client';
import { JOB_KINDS, type JobKind } from './job.js';

export const SCHEDULER_COUNTERS = ['queued', 'coalesced', 'deduplicated', 'dropped', 'failed', 'completed', 'rejected'] as const;
export type SchedulerCounter = (typeof SCHEDULER_COUNTERS)[number];

/** `sarai_scheduler_<name>_total{kind}` in /metrics, plus plain numbers for the bench and tests. */
export class SchedulerCounters {
  private readonly prom: Record<SchedulerCounter, Counter<'kind'>>;
  readonly totals: Record<SchedulerCounter, number>;

  constructor(registry: Registry) {
    const make = (name: SchedulerCounter, help: string) =>
      new Counter({ name: `sarai_scheduler_${name}_total`, help, labelNames: ['kind'], registers: [registry] });
    this.prom = {
      queued: make('queued', 'Jobs accepted into a queue'),
      coalesced: make('coalesced', 'Queued jobs replaced by a newer one from the same source (latest wins)'),
      deduplicated: make('deduplicated', 'Jobs skipped because the scene had not changed'),
      dropped: make('dropped', 'Jobs refused or discarded for capacity (queue or byte bound) or shutdown'),
      failed: make('failed', 'Jobs whose run threw (a capacity refusal counts as dropped)'),
      completed: make('completed', 'Jobs that ran to a result'),
      rejected: make('rejected', 'Inputs refused as invalid, at intake or when their job ran'),
    };
    this.totals = Object.fromEntries(SCHEDULER_COUNTERS.map((c) => [c, 0])) as Record<SchedulerCounter, number>;
    // Zero series exist from the start, so dashboards see 0 rather than nothing.
    for (const c of SCHEDULER_COUNTERS) for (const k of JOB_KINDS) this.prom[c].inc({ kind: k }, 0);
  }

  inc(name: SchedulerCounter, kind: JobKind): void {
    this.totals[name]++;
    this.prom[name].inc({ kind });
  }
}
