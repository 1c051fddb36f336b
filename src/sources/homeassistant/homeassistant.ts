import { perContext, type AppContext } from '../../core/context.js';
import { errorMessage } from '../../core/errors.js';
import type { Service } from '../../core/lifecycle.js';
import type { CameraAlert, CameraResult } from '../../core/results.js';
import { submitSnapshot } from '../../camera/snapshot-intake.js';
import { HaClient } from './ha-client.js';

const clientFor = perContext((ctx) => {
  const { url, token } = ctx.config.homeassistant;
  return new HaClient({ url, token, log: ctx.log, onProblem: (msg) => ctx.errors.report('homeassistant', 'homeassistant/websocket', msg) });
});

/**
 * The bridge's Home Assistant websocket client, or undefined when homeassistant.url or
 * token is not set. Shared: the voice path uses it for media_player.play_media.
 */
export function homeAssistantFor(ctx: AppContext): HaClient | undefined {
  const { url, token } = ctx.config.homeassistant;
  return url && token ? clientFor(ctx) : undefined;
}

/** The small, automation-friendly payload of `sarai_result` / `sarai_alert`. */
function eventData(r: CameraResult): Record<string, unknown> {
  return {
    id: r.id, camera: r.camera, summary: r.summary, description: r.description, objects: r.objects, alert: r.alert,
    severity: r.severity, event_type: r.event_type, label: r.label ?? null, zones: r.zones ?? [], model: r.model, ts: r.ts,
    event_id: r.event_id ?? null,
  };
}

/**
 * Home Assistant over its websocket (when configured): a camera's `motion_entity` turning
 * `on` fetches `camera_proxy/<camera_entity>` and describes it; every camera result fires
 * `sarai_result` (and `sarai_alert` when it alerts) for automations.
 */
export class HomeAssistantSource implements Service {
  readonly name = 'homeassistant';
  private off: (() => void)[] = [];
  /** motion entity -> camera ids watching it */
  private readonly motion = new Map<string, string[]>();

  constructor(
    private readonly ctx: AppContext,
    private readonly client: HaClient,
  ) {}

  async start(): Promise<void> {
    for (const [id, cam] of Object.entries(this.ctx.config.cameras)) {
      if (!cam.motion_entity) continue;
      if (!cam.camera_entity) {
        this.ctx.log.warn({ module: this.name, camera: id }, 'motion_entity set without camera_entity: nothing to fetch on motion');
        continue;
      }
      this.motion.set(cam.motion_entity, [...(this.motion.get(cam.motion_entity) ?? []), id]);
    }
    if (this.motion.size > 0) await this.client.subscribeEvents('state_changed', (ev) => this.onStateChanged(ev.data));
    if (this.ctx.config.camera_defaults.ha_events) {
      this.off.push(this.ctx.bus.on('camera.result', this.name, ({ result }) => this.fire(result)));
      this.off.push(this.ctx.bus.on('camera.alert', this.name, ({ alert }) => this.fireAlert(alert)));
    }
    this.client.start();
  }

  async stop(): Promise<void> {
    for (const f of this.off) f();
    this.off = [];
    await this.client.stop();
  }

  private onStateChanged(data: Record<string, unknown>): void {
    const entity = data['entity_id'];
    if (typeof entity !== 'string') return;
    const cams = this.motion.get(entity);
    if (!cams) return;
    const state = (s: unknown) => (s && typeof s === 'object' ? (s as { state?: unknown }).state : undefined);
    if (state(data['new_state']) !== 'on' || state(data['old_state']) === 'on') return;
    for (const camera of cams) void this.fetchAndDescribe(camera);
  }

  private async fetchAndDescribe(camera: string): Promise<void> {
    const entity = this.ctx.config.cameras[camera]?.camera_entity ?? '';
    const origin = `homeassistant/camera_proxy/${entity}`;
    let bytes: Buffer;
    try {
      bytes = await this.client.cameraSnapshot(entity);
    } catch (err) {
      this.ctx.errors.report(this.name, origin, err);
      return;
    }
    submitSnapshot(this.ctx, { camera, bytes, meta: { source: 'homeassistant' }, origin });
  }

  private async fire(r: CameraResult): Promise<void> {
    if (!this.client.connected) return;
    try {
      await this.client.fireEvent('sarai_result', eventData(r));
      // a snapshot's result has its two-phase sarai_alert (fireAlert); other results (clips) alert here
      if (r.alert && !r.event_id) await this.client.fireEvent('sarai_alert', { ...eventData(r), event_id: r.id, phase: 'described' });
    } catch (err) {
      this.ctx.log.warn({ module: this.name, err: errorMessage(err) }, 'firing the HA event failed');
    }
  }

  /** `sarai_alert` with phase `detected` or `described` (see CameraAlert). */
  private async fireAlert(alert: CameraAlert): Promise<void> {
    if (!this.client.connected) return;
    try {
      await this.client.fireEvent('sarai_alert', { ...alert });
    } catch (err) {
      this.ctx.log.warn({ module: this.name, err: errorMessage(err) }, 'firing the HA event failed');
    }
  }
}

export function homeAssistantFeature(ctx: AppContext): Service | undefined {
  const client = homeAssistantFor(ctx);
  return client ? new HomeAssistantSource(ctx, client) : undefined;
}
