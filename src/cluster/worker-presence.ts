import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { IncomingMessage } from '../mqtt/client.js';
import type { GroupLease } from './group-lease.js';

/** `sarai/worker/<id>/lease` (retained): who holds a worker id, and that worker's clock. */
export interface WorkerLease {
  worker: string;
  instance: string;
  host: string;
  pid: number;
  ts: string;
}

export class LeaseFormatError extends Error {
  override name = 'LeaseFormatError';
}

/** Parses a lease; throws LeaseFormatError for anything else (garbage, wrong types). */
export function parseLease(payload: Buffer): WorkerLease {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new LeaseFormatError(`worker lease is not JSON (${payload.length} bytes)`);
  }
  const o = v as Partial<Record<keyof WorkerLease, unknown>> | null;
  if (!o || typeof o !== 'object' || typeof o.worker !== 'string' || typeof o.instance !== 'string' || typeof o.ts !== 'string'
    || typeof o.host !== 'string' || typeof o.pid !== 'number' || !Number.isFinite(Date.parse(o.ts))) {
    throw new LeaseFormatError('worker lease lacks worker, instance, host, pid or a valid ts');
  }
  return { worker: o.worker, instance: o.instance, host: o.host, pid: o.pid, ts: o.ts };
}

/**
 * One worker's presence in the group: `<base>/status` online for the group's entities, its own
 * `<base>/worker/<id>/status` (last will, set by MqttBridge) and a retained lease. Watches the
 * leases of all workers: another process publishing a lease under our id is a duplicate
 * worker id (both are told, once per pair); a lease whose clock is far from ours is a clock
 * warning. A garbage lease is reported and replaced. Also watches every worker's status for the
 * group's lease (GroupLease: the lowest live id runs the scheduled digest).
 */
export class WorkerPresence implements Service {
  readonly name = 'cluster-presence';
  readonly instance = randomBytes(6).toString('hex');
  private readonly answered = new Set<string>();
  private readonly skewWarned = new Set<string>();
  private off?: () => void;
  private offStatus?: () => void;

  constructor(
    private readonly ctx: AppContext,
    readonly workerId: string,
    private readonly group?: GroupLease,
  ) {}

  get leaseTopic(): string {
    return this.ctx.mqtt.topic(`worker/${this.workerId}/lease`);
  }

  async start(): Promise<void> {
    const mqtt = this.ctx.mqtt;
    this.off = mqtt.subscribe(mqtt.topic('worker/+/lease'), this.name, (m) => this.onLease(m));
    const group = this.group;
    if (group) {
      const prefix = mqtt.topic('worker/');
      this.offStatus = mqtt.subscribe(mqtt.topic('worker/+/status'), this.name, (m) => {
        const id = m.topic.slice(prefix.length, -'/status'.length);
        const before = group.holder();
        group.observe(id, m.payload.toString('utf8'));
        const after = group.holder();
        if (after !== before && after !== undefined) this.ctx.log.info({ module: this.name, holder: after, self: group.holds() }, 'the group lease (who runs the scheduled digest) moved');
      });
    }
    mqtt.onConnect(() => this.announce());
    if (mqtt.connected) await this.announce();
  }

  async stop(): Promise<void> {
    this.off?.();
    this.offStatus?.();
    await Promise.resolve();
  }

  private lease(): WorkerLease {
    return { worker: this.workerId, instance: this.instance, host: os.hostname(), pid: process.pid, ts: new Date().toISOString() };
  }

  private async announce(): Promise<void> {
    // the group's entities stay available while any worker runs; each worker's own will is on its topic
    await this.ctx.mqtt.publishAsync(this.ctx.mqtt.statusTopic, 'online', { retain: true, qos: 1 });
    await this.ctx.mqtt.publishAsync(this.leaseTopic, JSON.stringify(this.lease()), { retain: true, qos: 1 });
  }

  private onLease(m: IncomingMessage): void {
    if (m.payload.length === 0) return;
    let lease: WorkerLease;
    try {
      lease = parseLease(m.payload);
    } catch (err) {
      this.ctx.errors.report('cluster', m.topic, err);
      if (m.topic === this.leaseTopic) void this.announce(); // ours: replace the garbage
      return;
    }
    if (lease.instance === this.instance) return;
    if (!m.retain) this.checkClock(lease);
    if (m.topic !== this.leaseTopic || lease.worker !== this.workerId) return;
    if (m.retain) {
      // a lease left by an earlier run of this id (ours overwrites it): only a hint
      this.ctx.log.info({ module: this.name, previous: lease }, 'replacing the previous lease of this worker id');
      return;
    }
    if (this.answered.has(lease.instance)) return;
    this.answered.add(lease.instance);
    this.ctx.errors.report(
      'cluster',
      m.topic,
      `two workers use cluster.worker_id "${this.workerId}" (this one: ${os.hostname()} pid ${process.pid}; the other: ${lease.host} pid ${lease.pid}): give each worker its own id, or their status and results mix`,
    );
    // tell the other one too (it answers once per instance, so this ends)
    void this.ctx.mqtt.publishAsync(this.leaseTopic, JSON.stringify(this.lease()), { retain: true, qos: 1 });
  }

  private checkClock(lease: WorkerLease): void {
    const offMs = Date.parse(lease.ts) - Date.now();
    if (Math.abs(offMs) <= this.ctx.config.cluster.clock_skew_s * 1000 || this.skewWarned.has(lease.worker)) return;
    this.skewWarned.add(lease.worker);
    this.ctx.log.warn(
      { module: this.name, worker: lease.worker, off_s: Math.round(offMs / 1000) },
      'another worker\'s clock is far from this one (run NTP on every worker); results keep their order by input time within cluster.clock_skew_s only',
    );
  }
}
