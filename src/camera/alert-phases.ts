import { perContext, type AppContext } from '../core/context.js';
import { errorMessage } from '../core/errors.js';
import type { CameraAlert, CameraResult } from '../core/results.js';
import { clampText, SUMMARY_MAX } from './answer.js';
import { newResultId, type SnapshotMeta } from './describe.js';
import { decideAlert, eventTypeOf } from './rules.js';
import type { CameraSettings } from './settings.js';

/** One snapshot trigger, from intake to its `described` phase. */
export interface AlertEvent {
  readonly id: string;
  readonly cam: CameraSettings;
  readonly meta: SnapshotMeta;
  /** performance.now() when the first snapshot of this event was accepted. */
  readonly acceptedAt: number;
  detected: boolean;
  /** Its job has started: newer snapshots open a new event instead of joining this one. */
  started: boolean;
  /** Opened by this intake (not joined): forget it if the scheduler refuses the job. */
  fresh: boolean;
}

/** Why a `described` phase carries our text instead of the model's. */
export type FallbackReason = 'failed' | 'unreadable' | 'repeat' | 'stopped';

/**
 * Alert first, words after: a snapshot that passes intake's cheap checks is announced at once
 * (`detected`: the `sarai_alert` event, the raw JPEG on the image entity, the alert
 * binary_sensor when the source's own label already meets the alert rules), and the same
 * event id is `described` when its job ends, with the model's words or a fallback that says
 * why there are none. Snapshots that arrive while the event's job still waits join it (the
 * scheduler keeps only the newest: latest wins), so one event is one description. Inside the
 * camera's cooldown the `detected` phase waits for the job to start, so a busy camera does not
 * ring a phone more often than it is described.
 */
export class AlertPhases {
  /** camera -> its event whose job has not started yet */
  private readonly waiting = new Map<string, AlertEvent>();
  /** camera -> Date.now() of its last `detected` */
  private readonly lastDetected = new Map<string, number>();
  /** camera -> last model summary, for the `repeat` fallback */
  private readonly lastSummary = new Map<string, string>();

  constructor(private readonly ctx: AppContext) {}

  /** The event an accepted snapshot belongs to: the camera's waiting one, or a new one. */
  open(cam: CameraSettings, meta: SnapshotMeta, acceptedAt: number): AlertEvent {
    const w = this.waiting.get(cam.id);
    if (w && !w.started) return this.joined(w);
    const ev: AlertEvent = { id: newResultId(), cam, meta, acceptedAt, detected: false, started: false, fresh: true };
    this.waiting.set(cam.id, ev);
    return ev;
  }

  private joined(w: AlertEvent): AlertEvent {
    w.fresh = false;
    return w;
  }

  /** The scheduler took the job: announce now, unless the camera is cooling down. */
  accepted(ev: AlertEvent, image: Buffer | undefined): void {
    if (ev.detected) return;
    const last = this.lastDetected.get(ev.cam.id) ?? -Infinity;
    if (Date.now() - last < ev.cam.cooldownMs) return;
    this.detect(ev, image);
  }

  /** The scheduler refused the job: a new event never existed. */
  abandon(ev: AlertEvent): void {
    if (ev.fresh && this.waiting.get(ev.cam.id) === ev) this.waiting.delete(ev.cam.id);
  }

  /** Its job starts: announce a `detected` held back by the cooldown; stop taking joiners. */
  started(ev: AlertEvent, image: Buffer | undefined): void {
    ev.started = true;
    if (this.waiting.get(ev.cam.id) === ev) this.waiting.delete(ev.cam.id);
    if (!ev.detected) this.detect(ev, image);
  }

  /** The model answered: `result` is published with this event's id first, then this phase. */
  async described(ev: AlertEvent, result: CameraResult): Promise<void> {
    this.lastSummary.set(ev.cam.id, result.summary);
    // An event that alerted at `detected` still alerts when described (a notification sent
    // then is updated, not orphaned); the model can raise an alert, not withdraw one.
    const d = this.detectedVerdict(ev);
    const alert = result.alert || d.alert;
    const severity = result.alert || !d.alert ? result.severity : result.severity === 'none' ? d.severity : result.severity;
    await this.emit(ev, {
      phase: 'described', alert, severity, event_type: result.event_type,
      summary: result.summary, result_id: result.id,
    });
  }

  /** No model words for this event: say why, in place of the summary. */
  async fallback(ev: AlertEvent, reason: FallbackReason, err?: unknown): Promise<void> {
    if (!ev.detected && reason === 'stopped') return;
    const head = `${ev.cam.name}: ${ev.meta.label ? `${ev.meta.label} detected` : 'motion detected'}`;
    const prev = this.lastSummary.get(ev.cam.id);
    const why: Record<FallbackReason, string> = {
      failed: `no description, the model did not answer (${errorMessage(err)})`,
      unreadable: 'no description, the image could not be read',
      repeat: prev ? `same scene as the last description: ${prev}` : 'same scene as the last description',
      stopped: 'no description, the bridge stopped first',
    };
    const d = this.detectedVerdict(ev);
    await this.emit(ev, { phase: 'described', ...d, summary: clampText(`${head}; ${why[reason]}.`, SUMMARY_MAX), fallback: true });
  }

  /** The alert rules on what the source already knows (Frigate's label and zones, an HA motion entity). */
  private detectedVerdict(ev: AlertEvent): Pick<CameraAlert, 'alert' | 'severity' | 'event_type'> {
    const event_type = eventTypeOf(ev.meta.label, [], '');
    const { alert, severity } = decideAlert(ev.cam, {
      modelAlert: false, modelSeverity: 'none', eventType: event_type, label: ev.meta.label, zones: ev.meta.zones,
      // a camera's HA motion_entity is the user's own trigger for it
      detectorAlert: ev.meta.detectorAlert === true || ev.meta.source === 'homeassistant', now: new Date(),
    });
    return { alert, severity, event_type };
  }

  private detect(ev: AlertEvent, image: Buffer | undefined): void {
    ev.detected = true;
    this.lastDetected.set(ev.cam.id, Date.now());
    void this.emit(ev, { phase: 'detected', ...this.detectedVerdict(ev), summary: '' }, image);
  }

  private async emit(ev: AlertEvent, phase: Pick<CameraAlert, 'phase' | 'alert' | 'severity' | 'event_type' | 'summary'> & Partial<CameraAlert>, image?: Buffer): Promise<void> {
    const { meta } = ev;
    const alert: CameraAlert = {
      event_id: ev.id, camera: ev.cam.id, source: meta.source, ...phase,
      ...(meta.label ? { label: meta.label } : {}),
      ...(meta.zones ? { zones: meta.zones } : {}),
      ...(meta.frigateEventId ? { frigate_event_id: meta.frigateEventId } : {}),
      latency_ms: Math.round(performance.now() - ev.acceptedAt),
      ts: new Date().toISOString(),
    };
    await this.ctx.bus.emit('camera.alert', image ? { alert, image } : { alert });
  }
}

/** The bridge's alert phases, created on first use. */
export const alertPhasesFor = perContext((ctx) => new AlertPhases(ctx));
