import type { CameraResult } from '../core/results.js';

export type Verdict = 'publish' | 'duplicate' | 'stale';

/** What a result says about its order: the cluster fields of CameraResult. */
export type Ordered = Pick<CameraResult, 'camera' | 'job_id' | 'input_ts' | 'worker'>;

/** How many job ids to remember: far more than can be in flight or redelivered at once. */
const SEEN_MAX = 10_000;

export interface SkewNotice {
  camera: string;
  worker: string;
  aheadMs: number;
}

/**
 * The group's view of camera results, learnt from the retained `<base>/camera/+/result`
 * messages every worker publishes (no database): the newest input time per camera and the
 * job ids already published. A new result is a duplicate when its job id was seen (a QoS 1
 * redelivery after a worker died), and stale when a newer input's result is already out.
 * Clocks are not trusted blindly: a retained result more than `skewMs` ahead is taken as
 * another worker's clock being off, reported, and not used to drop anything.
 */
export class ResultLedger {
  private readonly newest = new Map<string, { inputMs: number; worker: string }>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly skewMs: number,
    private readonly onSkew: (n: SkewNotice) => void,
  ) {}

  /** A result seen on the broker (ours or another worker's). */
  observe(r: Ordered): void {
    if (r.job_id) this.remember(r.job_id);
    const ms = r.input_ts ? Date.parse(r.input_ts) : NaN;
    if (!Number.isFinite(ms)) return;
    const cur = this.newest.get(r.camera);
    if (!cur || ms > cur.inputMs) this.newest.set(r.camera, { inputMs: ms, worker: r.worker ?? '' });
  }

  /** True when a result of this job is already out (this worker's or another's). */
  published(jobId: string): boolean {
    return this.seen.has(jobId);
  }

  /** Decides whether this worker may publish `r`, and records it when it may. */
  admit(r: Ordered): Verdict {
    if (r.job_id && this.seen.has(r.job_id)) return 'duplicate';
    const ms = r.input_ts ? Date.parse(r.input_ts) : NaN;
    const cur = this.newest.get(r.camera);
    if (Number.isFinite(ms) && cur && cur.inputMs > ms) {
      const aheadMs = cur.inputMs - ms;
      if (aheadMs <= this.skewMs) return 'stale';
      // far ahead: a clock that is off, not a newer scene; forget it so order resumes
      this.onSkew({ camera: r.camera, worker: cur.worker, aheadMs });
      this.newest.delete(r.camera);
    }
    this.observe(r);
    return 'publish';
  }

  private remember(id: string): void {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
