import { Histogram } from 'prom-client';
import { perContext, type AppContext } from '../core/context.js';

/** Where a described snapshot's time went, from intake to published. */
export interface SnapshotTimings {
  /** Accepted -> its job started (waiting for the camera's previous job or a free slot). */
  waitMs: number;
  /** Decode, check, resize, re-encode and hash. */
  prepareMs: number;
  /** The router's latency (the model, including a backend's own queue). */
  modelMs: number;
  /** Result built -> every listener (MQTT, timeline, HA events) done. */
  publishMs: number;
}

/**
 * `sarai_camera_stage_seconds{stage}` and `sarai_camera_overhead_seconds` (everything but the
 * model): what a user reads to tell a slow model from a busy bridge, and what bench/ reports.
 */
export class CameraStageMetrics {
  readonly stages: Histogram<'stage'>;
  readonly overhead: Histogram;

  constructor(ctx: AppContext) {
    const registers = [ctx.metrics.registry];
    this.stages = new Histogram({
      name: 'sarai_camera_stage_seconds',
      help: 'Described snapshots: time per stage (wait, prepare, model, publish)',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.overhead = new Histogram({
      name: 'sarai_camera_overhead_seconds',
      help: 'Described snapshots: accepted -> published, minus model time (the bridge itself)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
  }

  observe(t: SnapshotTimings): void {
    this.stages.observe({ stage: 'wait' }, t.waitMs / 1000);
    this.stages.observe({ stage: 'prepare' }, t.prepareMs / 1000);
    this.stages.observe({ stage: 'model' }, t.modelMs / 1000);
    this.stages.observe({ stage: 'publish' }, t.publishMs / 1000);
    this.overhead.observe((t.waitMs + t.prepareMs + t.publishMs) / 1000);
  }
}

/** The bridge's camera stage metrics, created on first use. */
export const cameraStagesFor = perContext((ctx) => new CameraStageMetrics(ctx));
