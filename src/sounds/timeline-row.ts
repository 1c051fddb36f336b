import type { CameraAlert, CameraResult } from '../core/results.js';

/**
 * A described sound alert as a timeline row (a CameraResult without a snapshot), so history
 * questions ("when did the dog bark?"), the timeline API and the dashboard see sounds too.
 * Its id is the event id; `objects` holds the sound id.
 */
export function soundTimelineRow(alert: CameraAlert): CameraResult | undefined {
  if (alert.event_type !== 'sound' || alert.phase !== 'described' || !alert.sound || !alert.label) return undefined;
  const s = alert.sound;
  return {
    id: alert.event_id,
    camera: alert.camera,
    summary: alert.summary,
    description: `${alert.summary}. Level ${s.level_dbfs} dBFS${s.clipped ? ', clipping' : ''}.`,
    objects: [alert.label],
    alert: alert.alert,
    severity: alert.severity,
    event_type: 'sound',
    route: `sound:${alert.source}`,
    route_reason: `${s.model_label} scored ${s.score} (audio_events)`,
    model: s.model,
    latency_ms: alert.latency_ms,
    ts: alert.ts,
    source: alert.source,
    label: alert.label,
    event_id: alert.event_id,
  };
}
