/** Job kinds in priority order: a person talking beats a camera frame. */
export const JOB_KINDS = ['voice', 'ask', 'clip', 'snapshot'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** How a job that ran ended (thrown errors count as `failed`). */
export type JobOutcome = 'completed' | 'deduplicated' | 'rejected';

export interface Job {
  kind: JobKind;
  /** Queue key, one per input source (e.g. `camera:front_door`): one job per source runs at a time. */
  source: string;
  /** Bytes held while queued (payload size), counted against scheduler.max_queued_mb. */
  bytes: number;
  /** Latest wins: a newer job for the same source replaces this one while it waits. */
  coalesce?: boolean;
  /** After a `completed` run, the source waits this long (ms) before its next job starts. */
  cooldownMs?: number;
  run(signal: AbortSignal): Promise<JobOutcome>;
  /** Told when the job leaves without running (replaced, or dropped at stop). */
  onDiscard?(reason: 'coalesced' | 'dropped'): void;
}

export function kindPriority(kind: JobKind): number {
  return JOB_KINDS.indexOf(kind);
}
