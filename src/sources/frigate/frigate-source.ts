import type { AppContext } from '../../core/context.js';
import { InputError } from '../../core/errors.js';
import type { Service } from '../../core/lifecycle.js';
import type { IncomingMessage } from '../../mqtt/client.js';
import { checkId } from '../../mqtt/topics.js';
import { submitSnapshot } from '../../camera/snapshot-intake.js';
import { parseFrigateEvent, parseFrigateReview, type FrigateObject } from './payloads.js';
import { SnapshotCache } from './snapshot-cache.js';
import { TrackedObjects } from './tracked-objects.js';

/** A live snapshot this recent (ms) belongs to the event that arrives with it. */
const SNAPSHOT_FRESH_MS = 30_000;
/** How long an event waits for its snapshot to arrive (ms). */
const SNAPSHOT_WAIT_MS = 5_000;
const MAX_ALERT_IDS = 1_000;
/** Bounds of the live snapshot cache: 120 distinct 1 MB snapshot topics once took 89 MB for good. */
const CACHE_MAX_ENTRIES = 64;
const CACHE_MAX_BYTES = 32 * 1_048_576;
/** Frigate cameras not in `cameras:` accepted (their snapshots cached); the rest are reported. */
const MAX_UNKNOWN_CAMERAS = 16;

interface Pending {
  obj: FrigateObject;
  timer: NodeJS.Timeout;
}

/**
 * Frigate over MQTT (frigate.enabled): `events` `new`/`update`/`end` with a snapshot are
 * described once per tracked object (again only on a material change); the image is the
 * live `<prefix>/<camera>/<label>/snapshot` Frigate publishes with them (retained copies are
 * stale and ignored); `reviews` with severity `alert` mark their detections as alerts. The
 * result carries the label, zones and Frigate event id, on our usual result topic.
 */
export class FrigateSource implements Service {
  readonly name = 'frigate';
  private readonly tracked = new TrackedObjects();
  /** Latest live snapshot per Frigate `camera/label` (checked camera ids, raw labels: keys only). */
  private readonly snapshots = new SnapshotCache({ maxEntries: CACHE_MAX_ENTRIES, maxBytes: CACHE_MAX_BYTES, ttlMs: SNAPSHOT_FRESH_MS });
  private readonly unknownCameras = new Set<string>();
  private sweeper?: NodeJS.Timeout;
  private readonly pending = new Map<string, Pending[]>();
  private readonly alertIds = new Set<string>();
  private off: (() => void)[] = [];

  constructor(private readonly ctx: AppContext) {}

  private get prefix(): string {
    return this.ctx.config.frigate.topic_prefix;
  }

  async start(): Promise<void> {
    const mqtt = this.ctx.mqtt;
    // not spooled (see InputSpool): an event run again after a restart would wait for a live
    // snapshot that went with the old event and is gone
    this.off.push(mqtt.subscribe(`${this.prefix}/events`, this.name, (m) => this.guard(m, () => this.onEvent(m)), 1, true));
    this.off.push(mqtt.subscribe(`${this.prefix}/reviews`, this.name, (m) => this.guard(m, () => this.onReview(m)), 1, true));
    this.off.push(mqtt.subscribe(`${this.prefix}/+/+/snapshot`, this.name, (m) => this.guard(m, () => this.onSnapshot(m)), 0, true));
    // expired snapshots are released even when no new one arrives
    this.sweeper = setInterval(() => this.snapshots.sweep(), SNAPSHOT_FRESH_MS / 2);
    this.sweeper.unref();
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    for (const f of this.off) f();
    this.off = [];
    for (const list of this.pending.values()) for (const p of list) clearTimeout(p.timer);
    this.pending.clear();
    clearInterval(this.sweeper);
    this.snapshots.clear();
    await Promise.resolve();
  }

  private guard(m: IncomingMessage, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.ctx.errors.report('frigate', m.topic, err);
    }
  }

  private onSnapshot(m: IncomingMessage): void {
    if (m.retain) return; // Frigate retains the last snapshot: a stale copy, not this event's image
    const [cam, label] = m.topic.slice(this.prefix.length + 1).split('/');
    if (!cam || !label) return;
    this.checkCamera(cam);
    const key = `${cam}/${label}`;
    this.snapshots.set(key, m.payload);
    const waiting = this.pending.get(key);
    if (!waiting) return;
    this.pending.delete(key);
    for (const p of waiting) {
      clearTimeout(p.timer);
      this.describe(p.obj, m.payload);
    }
  }

  /** A configured camera, or one of a bounded set of unknown ones; anything else is an InputError. */
  private checkCamera(cam: string): void {
    checkId('camera', cam);
    if (Object.hasOwn(this.ctx.config.cameras, cam) || this.unknownCameras.has(cam)) return;
    if (this.unknownCameras.size >= MAX_UNKNOWN_CAMERAS) {
      throw new InputError(`Frigate camera ${JSON.stringify(cam)} is not in cameras: and ${MAX_UNKNOWN_CAMERAS} unknown cameras are already accepted; add it to cameras: to use it`);
    }
    this.unknownCameras.add(cam);
  }

  private onReview(m: IncomingMessage): void {
    const r = parseFrigateReview(m.payload, m.topic);
    if (r.severity !== 'alert') return;
    for (const id of r.detections) {
      this.alertIds.add(id);
      if (this.alertIds.size > MAX_ALERT_IDS) {
        const oldest = this.alertIds.values().next().value;
        if (oldest !== undefined) this.alertIds.delete(oldest);
      }
    }
  }

  private onEvent(m: IncomingMessage): void {
    const ev = parseFrigateEvent(m.payload, m.topic);
    const o = ev.after;
    this.checkCamera(o.camera); // before waiting for a snapshot: a bad or surplus name is reported now
    if (ev.type === 'end') {
      if (o.hasSnapshot && !o.falsePositive && this.tracked.needsDescription(o)) this.withSnapshot(o);
      this.tracked.forget(o.id);
      return;
    }
    if (!o.hasSnapshot || o.falsePositive || !this.tracked.needsDescription(o)) return;
    this.withSnapshot(o);
  }

  /** Describes with the fresh live snapshot, or waits a little for it. */
  private withSnapshot(o: FrigateObject): void {
    this.tracked.markDescribed(o);
    const key = `${o.camera}/${o.label}`;
    const snap = this.snapshots.get(key);
    if (snap && Date.now() - snap.at <= SNAPSHOT_FRESH_MS) {
      this.describe(o, snap.bytes);
      return;
    }
    const list = this.pending.get(key) ?? [];
    const timer = setTimeout(() => {
      const cur = this.pending.get(key)?.filter((p) => p.timer !== timer) ?? [];
      if (cur.length) this.pending.set(key, cur);
      else this.pending.delete(key);
      this.tracked.forget(o.id);
      this.ctx.errors.report('frigate', `${this.prefix}/events`, new InputError(
        `no live snapshot on ${this.prefix}/<camera>/${o.label}/snapshot within ${SNAPSHOT_WAIT_MS / 1000} s for Frigate event ${o.id.slice(0, 64)}`,
      ));
    }, SNAPSHOT_WAIT_MS);
    timer.unref();
    list.push({ obj: o, timer });
    this.pending.set(key, list);
  }

  private describe(o: FrigateObject, bytes: Buffer): void {
    submitSnapshot(this.ctx, {
      camera: o.camera,
      bytes,
      meta: {
        source: 'frigate',
        label: o.subLabel ? `${o.label} (${o.subLabel})` : o.label,
        zones: o.currentZones.length ? o.currentZones : o.enteredZones,
        frigateEventId: o.id,
        detectorAlert: this.alertIds.has(o.id),
      },
      origin: `${this.prefix}/events`,
    });
  }
}

export function frigateFeature(ctx: AppContext): Service | undefined {
  return ctx.config.frigate.enabled ? new FrigateSource(ctx) : undefined;
}
