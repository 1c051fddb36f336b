import { randomBytes } from 'node:crypto';
import { CAMERA_RESULT_SCHEMA } from '../core/camera-schema.js';
import type { GenerateResult } from '../backends/types.js';
import type { CameraResult } from '../core/results.js';
import type { ModelRouter } from '../router/types.js';
import { ANSWER_FORMAT, parseCameraAnswer } from './answer.js';
import { changeSince, memoryPrompt, type Remembered } from './memory.js';
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

function promptFor(cam: CameraSettings, meta: SnapshotMeta, previous: Remembered | undefined): string {
  const hints: string[] = [];
  if (meta.label) hints.push(`The detector saw: ${meta.label}.`);
  if (meta.zones?.length) hints.push(`Zones: ${meta.zones.join(', ')}.`);
  if (previous) hints.push(memoryPrompt(previous, new Date()));
  return [
    cam.prompt,
    ...hints,
    ANSWER_FORMAT,
  ].join('\n');
}

/**
 * A model's answer under the camera's rules, for snapshot and clip results alike: the answer's
 * fields, its event type (detector label first, else the words) and the alert decision.
 */
export function judgeAnswer(
  cam: CameraSettings,
  value: GenerateResult,
  meta: Pick<SnapshotMeta, 'label' | 'zones' | 'detectorAlert'>,
  now: Date,
): Pick<CameraResult, 'summary' | 'description' | 'objects' | 'alert' | 'severity' | 'event_type'> {
  const answer = parseCameraAnswer(value);
  const event_type = eventTypeOf(meta.label, answer.objects, answer.summary);
  const { alert, severity } = decideAlert(cam, {
    modelAlert: answer.alert, modelSeverity: answer.severity, eventType: event_type, label: meta.label, zones: meta.zones, detectorAlert: meta.detectorAlert, now,
  });
  return { summary: answer.summary, description: answer.description, objects: answer.objects, alert, severity, event_type };
}

/**
 * Describes one prepared JPEG through the router (image role, camera schema) and applies the
 * alert rules. `previous`: the camera's last accepted result (camera memory), given to the
 * model as context and compared in `changed`. Throws what the router throws (BackendError...).
 */
export async function describeSnapshot(
  router: ModelRouter,
  cam: CameraSettings,
  jpeg: Buffer,
  meta: SnapshotMeta,
  signal?: AbortSignal,
  previous?: Remembered,
): Promise<CameraResult> {
  const routed = await router.describe({ prompt: promptFor(cam, meta, previous), images: [jpeg], jsonSchema: CAMERA_RESULT_SCHEMA as unknown as Record<string, unknown>, signal });
  const now = new Date();
  const judged = judgeAnswer(cam, routed.value, meta, now);
  return {
    id: newResultId(now.getTime()),
    camera: cam.id,
    ...judged,
    route: routed.route,
    route_reason: routed.reason,
    model: routed.model,
    latency_ms: Math.round(routed.latencyMs),
    ts: now.toISOString(),
    source: meta.source,
    ...(meta.label ? { label: meta.label } : {}),
    ...(meta.zones ? { zones: meta.zones } : {}),
    ...(meta.frigateEventId ? { frigate_event_id: meta.frigateEventId } : {}),
    ...(previous ? { changed: changeSince(previous, judged.objects, parseCameraAnswer(routed.value).changed) } : {}),
  };
}
