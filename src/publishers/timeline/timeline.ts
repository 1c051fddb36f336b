import { setImmediate } from 'node:timers/promises';
import { perContext, type AppContext } from '../../core/context.js';
import type { Service } from '../../core/lifecycle.js';
import { soundTimelineRow } from '../../sounds/timeline-row.js';
import { registerTimelineRoutes } from './api.js';
import { TimelineStore } from './store.js';
import { routerEmbedTexts, VectorBackfill } from './vector-backfill.js';

const RETENTION_EVERY_MS = 3_600_000;
/** An embedding role that is missing or down is asked again after this (ms). */
const EMBED_RETRY_MS = 60_000;

/** Keeps every camera result and its snapshot, and every sound event, in the timeline and serves them over HTTP. */
export class Timeline implements Service {
  readonly name = 'timeline';
  store?: TimelineStore;
  /** Vectors of the descriptions for history questions (sqlite-vec), filled in the background. */
  backfill?: VectorBackfill;
  private off?: () => void;
  private offSounds?: () => void;
  private timer?: NodeJS.Timeout;

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    const store = TimelineStore.open(this.ctx.paths.data, this.ctx.config.timeline);
    this.store = store;
    store.applyRetention();
    registerTimelineRoutes(this.ctx.http, () => this.store);
    const backfill = new VectorBackfill(store, routerEmbedTexts(this.ctx.router), this.ctx.log, { batch: 16, retryMs: EMBED_RETRY_MS });
    this.backfill = backfill;
    // After the MQTT writes of the same result have left (setImmediate): a synchronous
    // SQLite insert is not on the path to Home Assistant.
    this.off = this.ctx.bus.on('camera.result', this.name, async ({ result, image }) => {
      await setImmediate();
      if (this.store !== store) return;
      store.add(result, image);
      backfill.kick();
    });
    // sound events have no camera result: their described alert is the row
    this.offSounds = this.ctx.bus.on('camera.alert', this.name, async ({ alert }) => {
      const row = soundTimelineRow(alert);
      if (!row) return;
      await setImmediate();
      if (this.store !== store) return;
      store.add(row);
      backfill.kick();
    });
    backfill.kick(); // rows stored before this start, or while there was no embedding role
    this.timer = setInterval(() => {
      try {
        store.applyRetention();
      } catch (err) {
        this.ctx.log.error({ module: this.name, err }, 'timeline retention failed');
      }
    }, RETENTION_EVERY_MS);
    this.timer.unref();
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    this.off?.();
    this.offSounds?.();
    this.backfill?.stop();
    await this.backfill?.idle();
    this.backfill = undefined;
    if (this.timer) clearInterval(this.timer);
    this.store?.close();
    this.store = undefined;
    await Promise.resolve();
  }
}

/** The bridge's one timeline (the ask feature and the digest read it too). */
export const timelineOf = perContext((ctx) => new Timeline(ctx));

export function timelineFeature(ctx: AppContext): Timeline {
  return timelineOf(ctx);
}
