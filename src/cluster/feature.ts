import { Counter } from 'prom-client';
import { perContext, type AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { CameraResult } from '../core/results.js';
import type { IncomingMessage } from '../mqtt/client.js';
import { GroupLease } from './group-lease.js';
import { ResultLedger, type Verdict } from './result-ledger.js';
import { WorkerPresence } from './worker-presence.js';
import { workerIdOf } from './worker-id.js';

/** One worker's part of the group (undefined on a lone bridge). */
export interface ClusterWorker {
  workerId: string;
  ledger: ResultLedger;
  /** Who runs the group's once-a-group jobs (the scheduled digest); fed by WorkerPresence. */
  lease: GroupLease;
  /** Stamps a result with this worker's id and the next sequence number, then asks the ledger. */
  admit(result: CameraResult): Verdict;
}

export const clusterOf = perContext((ctx): ClusterWorker | undefined => {
  const group = ctx.config.cluster.group;
  if (!group) return undefined;
  const workerId = workerIdOf(ctx.config);
  const verdicts = new Counter({
    name: 'sarai_cluster_results_total',
    help: 'Camera results by cluster verdict: published, duplicate (a redelivered job already published by the group), stale (a newer input already published)',
    labelNames: ['verdict'],
    registers: [ctx.metrics.registry],
  });
  const ledger = new ResultLedger(ctx.config.cluster.clock_skew_s * 1000, (n) =>
    ctx.log.warn(
      { module: 'cluster', camera: n.camera, worker: n.worker, ahead_s: Math.round(n.aheadMs / 1000) },
      'a retained result is far newer than this one: clock skew between workers? ordering by it is skipped (run NTP)',
    ),
  );
  let seq = 0;
  return {
    workerId,
    ledger,
    lease: new GroupLease(workerId, () => ctx.mqtt.connected),
    admit(result) {
      result.worker = workerId;
      result.seq = ++seq;
      const v = ledger.admit(result);
      verdicts.inc({ verdict: v === 'publish' ? 'published' : v });
      return v;
    },
  };
});

/** Learns every worker's camera results from the broker (retained, not shared). */
class ResultWatch implements Service {
  readonly name = 'cluster-results';
  private off?: () => void;
  /** Per camera: this worker's newest result as the broker echoed it (input time, bytes). */
  private readonly own = new Map<string, { inputMs: number; payload: Buffer }>();
  constructor(
    private readonly ctx: AppContext,
    private readonly ledger: ResultLedger,
    private readonly workerId: string,
  ) {}

  async start(): Promise<void> {
    const mqtt = this.ctx.mqtt;
    this.off = mqtt.subscribe(mqtt.topic('camera/+/result'), this.name, (m) => this.onResult(m));
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    this.off?.();
    await Promise.resolve();
  }

  private onResult(m: IncomingMessage): void {
    if (m.payload.length === 0) return;
    try {
      const r = JSON.parse(m.payload.toString('utf8')) as Partial<CameraResult>;
      if (typeof r.camera !== 'string') return;
      this.ledger.observe({
        camera: r.camera,
        ...(typeof r.job_id === 'string' ? { job_id: r.job_id } : {}),
        ...(typeof r.input_ts === 'string' ? { input_ts: r.input_ts } : {}),
        ...(typeof r.worker === 'string' ? { worker: r.worker } : {}),
      });
      this.repair(m, r);
    } catch (err) {
      this.ctx.log.warn({ module: this.name, topic: m.topic, err }, 'camera result on the broker is not JSON; ignored for ordering');
    }
  }

  /**
   * Two workers finishing one camera within a broker round trip can both pass the ledger, and
   * the older result can reach the broker last and stay retained. The worker that holds the
   * newest sees the older one arrive after its own and publishes its own bytes again, so the
   * retained result converges on the newest input (same job id: the ledger skips it).
   */
  private repair(m: IncomingMessage, r: Partial<CameraResult>): void {
    const camera = r.camera as string;
    const ms = typeof r.input_ts === 'string' ? Date.parse(r.input_ts) : NaN;
    if (!Number.isFinite(ms)) return;
    const mine = this.own.get(camera);
    if (r.worker === this.workerId) {
      if (!mine || ms >= mine.inputMs) this.own.set(camera, { inputMs: ms, payload: m.payload });
      return;
    }
    if (!mine || ms >= mine.inputMs) {
      this.own.delete(camera); // another worker's newer result: ours is no longer the newest
      return;
    }
    if (mine.inputMs - ms > this.ctx.config.cluster.clock_skew_s * 1000) return; // clock skew, not order
    this.ctx.log.info({ module: 'cluster', camera, newest: new Date(mine.inputMs).toISOString(), landed: r.input_ts, from: r.worker }, 'an older result landed after ours: publishing ours again');
    this.ctx.mqtt.publish(m.topic, mine.payload, { retain: true, qos: 1 });
  }
}

/** Cluster mode (cluster.group): this worker's presence and the group's result ledger. */
export function clusterFeature(ctx: AppContext): Service[] | undefined {
  const worker = clusterOf(ctx);
  if (!worker) return undefined;
  ctx.log.info({ module: 'cluster', group: ctx.config.cluster.group, worker: worker.workerId }, 'cluster mode: inputs are shared subscriptions');
  return [new WorkerPresence(ctx, worker.workerId, worker.lease), new ResultWatch(ctx, worker.ledger, worker.workerId)];
}
