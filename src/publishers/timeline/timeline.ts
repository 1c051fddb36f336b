import { setImmediate } from 'node:timers/promises';
import type { AppContext } from '../../core/context.js';
import type { Service } from '../../core/lifecycle.js';
import { registerTimelineRoutes } from './api.js';
import { TimelineStore } from './store.js';

const RETENTION_EVERY_MS = 3_600_000;

/** Keeps every camera result and its snapshot in the timeline and serves them over HTTP. */
export class Timeline implements Service {
  readonly name = 'timeline';
  store?: TimelineStore;
  private off?: () => void;
  private timer?: NodeJS.Timeout;

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    const t = this.ctx.config.timeline;
    const store = new TimelineStore(this.ctx.paths.data, { days: t.retention_days, maxBytes: Math.round(t.max_mb * 1_048_576) });
    this.store = store;
    store.applyRetention();
    registerTimelineRoutes(this.ctx.http, () => this.store);
    // After the MQTT writes of the same result have left (setImmediate): a synchronous
    // SQLite insert is not on the path to Home Assistant.
    this.off = this.ctx.bus.on('camera.result', this.name, async ({ result, image }) => {
      await setImmediate();
      if (this.store === store) store.add(result, image);
    });
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
    if (this.timer) clearInterval(this.timer);
    this.store?.close();
    this.store = undefined;
    await Promise.resolve();
  }
}

export function timelineFeature(ctx: AppContext): Timeline {
  return new Timeline(ctx);
}
