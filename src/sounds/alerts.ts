import type { CameraSettings } from '../camera/settings.js';
import { newResultId } from '../camera/describe.js';
import { decideAlert } from '../camera/rules.js';
import type { AppContext } from '../core/context.js';
import type { CameraAlert, Severity, SoundHeard } from '../core/results.js';

/** What one listen found for one sound, ready to announce. */
export interface SoundFinding {
  sound: string;
  severity: Exclude<Severity, 'none'>;
  heard: SoundHeard;
}

/** Display words per default sound id; other ids are shown as written. */
const WORDS: Record<string, string> = {
  glass: 'glass breaking',
  crying: 'a baby crying',
  bark: 'a dog barking',
  smoke_alarm: 'a smoke alarm',
  scream: 'screaming',
};

export function soundWords(sound: string): string {
  return WORDS[sound] ?? sound.replace(/_+/g, ' ');
}

/**
 * Sound events through the camera alert path: the camera's cooldown per sound (a smoke alarm
 * beeping for a minute is one event, not thirty), the alert rules (a sound the camera listens
 * for is a watched label; quiet hours let only `high` sounds alert), then `sarai_alert`
 * `detected` at once and `described` with words right after (the classifier's label is the
 * whole description: there is nothing slower to wait for).
 */
export class SoundAlerts {
  /** `camera/sound` -> Date.now() of its last event */
  private readonly last = new Map<string, number>();
  /** Events held back by the cooldown (tests, /metrics). */
  suppressed = 0;

  constructor(private readonly ctx: AppContext) {}

  /** Announces one finding; false when the cooldown held it back. */
  async raise(cam: CameraSettings, from: 'clip' | 'rtsp', f: SoundFinding, acceptedAt: number): Promise<boolean> {
    const key = `${cam.id}/${f.sound}`;
    const now = Date.now();
    if (now - (this.last.get(key) ?? -Infinity) < cam.cooldownMs) {
      this.suppressed++;
      return false;
    }
    this.last.set(key, now);
    const verdict = decideAlert(
      { alertLabels: [f.sound], alertZones: [], quietHours: cam.quietHours },
      { modelAlert: false, modelSeverity: f.severity, eventType: 'sound', label: f.sound, now: new Date(now) },
    );
    const base = {
      event_id: newResultId(now), camera: cam.id, source: from, alert: verdict.alert, severity: f.severity,
      event_type: 'sound' as const, label: f.sound, sound: f.heard,
    };
    const at = (): Pick<CameraAlert, 'latency_ms' | 'ts'> => ({ latency_ms: Math.round(performance.now() - acceptedAt), ts: new Date().toISOString() });
    await this.ctx.bus.emit('camera.alert', { alert: { ...base, phase: 'detected', summary: '', ...at() } });
    const clipped = f.heard.clipped ? ' (the audio was clipping)' : '';
    const summary = `${cam.name}: ${soundWords(f.sound)} heard (${f.heard.model_label}, ${f.heard.score.toFixed(2)})${clipped}`;
    await this.ctx.bus.emit('camera.alert', { alert: { ...base, phase: 'described', summary, ...at() } });
    return true;
  }
}
