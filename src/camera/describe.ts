import { randomBytes } from 'node:crypto';
import { CAMERA_RESULT_SCHEMA } from '../core/camera-schema.js';
import type { CameraResult } from '../core/results.js';
import type { ModelRouter } from '../router/types.js';
import { parseCameraAnswer } from './answer.js';
import { decideAlert, eventTypeOf } from './rules.js';
import type { CameraSettings } from './settings.js';

/** What a source knows about a snapshot besides the pixels. */
export interface SnapshotMeta {
  source: CameraResult['source'];
  /** Detector label (Frigate `after.label`). */
  label?: string;
  /** Zones the object is in (Frigate `after.current_zones`). */
  zones?: string[];
  frigateEventId?: string;
  /** The detector already classed it as an alert (Frigate review severity `alert`). */
  detectorAlert?: boolean;
}

/** A unique, topic- and path-safe result id: base36 time + random hex. */
export function newResultId(now = Date.now()): string {
  return `${now.toString(36)}_${randomBytes(5).toString('hex')}`;
}

function promptFor(cam: CameraSettings, meta: SnapshotMeta): string {
  const hints: string[] = [];
  if (meta.label) hints.push(`The detector saw: ${meta.label}.`);
  if (meta.zones?.length) hints.push(`Zones: ${meta.zones.join(', ')}.`);
  return [
    cam.prompt,
    ...hints,
    'Answer as JSON with summary (one sentence, at most 255 characters), description, objects (list), alert (true/false) and severity (none, low, medium, high).',
  ].join('\n');
}

/**
 * Describes one prepared JPEG through the router (image role, camera schema) and applies the
 * alert rules. Throws what the router throws (BackendError...).
 */
export async function describeSnapshot(
  router: ModelRouter,
  cam: CameraSettings,
  jpeg: Buffer,
  meta: SnapshotMeta,
  signal?: AbortSignal,
): Promise<CameraResult> {
  const routed = await router.describe({ prompt: promptFor(cam, meta), images: [jpeg], jsonSchema: CAMERA_RESULT_SCHEMA as unknown as Record<string, unknown>, signal });
  const answer = parseCameraAnswer(routed.value);
  const now = new Date();
  const event_type = eventTypeOf(meta.label, answer.objects, answer.summary);
  const { alert, severity } = decideAlert(
    { alertLabels: cam.alertLabels, alertZones: cam.alertZones, quietHours: cam.quietHours },
    { modelAlert: answer.alert, modelSeverity: answer.severity, eventType: event_type, label: meta.label, zones: meta.zones, detectorAlert: meta.detectorAlert, now },
  );
  return {
    id: newResultId(now.getTime()),
    camera: cam.id,
    summary: answer.summary,
    description: answer.description,
    objects: answer.objects,
    alert,
    severity,
    event_type,
    route: routed.route,
    route_reason: routed.reason,
    model: routed.model,
    latency_ms: Math.round(routed.latencyMs),
    ts: now.toISOString(),
    source: meta.source,
    ...(meta.label ? { label: meta.label } : {}),
    ...(meta.zones ? { zones: meta.zones } : {}),
    ...(meta.frigateEventId ? { frigate_event_id: meta.frigateEventId } : {}),
  };
}
