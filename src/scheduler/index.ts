import { perContext, type AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import { Scheduler } from './scheduler.js';
import { SceneMemory } from './scene-memory.js';

export { Scheduler, type SchedulerOptions, type SubmitResult } from './scheduler.js';
export { SceneMemory } from './scene-memory.js';
export { JOB_KINDS, type Job, type JobKind, type JobOutcome } from './job.js';

/** One scheduler per bridge, shared by every job kind (camera, clip, voice, ask). */
export interface SharedScheduler {
  scheduler: Scheduler;
  scenes: SceneMemory;
}

/**
 * The bridge's scheduler, created on first use from config.scheduler. Its depth goes to
 * ctx.metrics.queueDepth and the bridge state (`queue_depth`).
 */
export const schedulerFor = perContext((ctx): SharedScheduler => {
  const c = ctx.config.scheduler;
  const scheduler = new Scheduler(
    { concurrency: c.concurrency, maxQueuePerSource: c.max_queue_per_source, maxQueuedBytes: Math.round(c.max_queued_mb * 1_048_576) },
    ctx.metrics.registry,
    ctx.log,
    ctx.metrics.queueDepth,
  );
  ctx.bridge.addStateProvider(() => ({ queue_depth: scheduler.depth }));
  return { scheduler, scenes: new SceneMemory(c.dedup_distance) };
});

/** The scheduler as a Service: stopped (queued jobs dropped, running ones awaited) at shutdown. */
export function schedulerService(ctx: AppContext): Service {
  const { scheduler } = schedulerFor(ctx);
  return { name: 'scheduler', start: () => Promise.resolve(), stop: () => scheduler.stop() };
}
