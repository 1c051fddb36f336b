import { InputError } from '../../core/errors.js';

/** The fields of a Frigate tracked object (`frigate/events` before/after) that SARAi uses. */
export interface FrigateObject {
  id: string;
  camera: string;
  label: string;
  subLabel?: string;
  hasSnapshot: boolean;
  currentZones: string[];
  enteredZones: string[];
  falsePositive: boolean;
}

export interface FrigateEvent {
  type: 'new' | 'update' | 'end';
  after: FrigateObject;
}

export interface FrigateReview {
  type: 'new' | 'update' | 'end';
  camera: string;
  severity: 'alert' | 'detection';
  detections: string[];
  objects: string[];
  zones: string[];
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${what} is missing or not an object`);
  return v as Record<string, unknown>;
}
function str(o: Record<string, unknown>, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw new InputError(`${what}.${key} is missing or not a string`);
  return v;
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 100) : [];
}
function parseJson(payload: Buffer, topic: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new InputError(`${topic}: payload is not JSON`);
  }
  return obj(v, `${topic} payload`);
}
function eventType(o: Record<string, unknown>, topic: string): FrigateEvent['type'] {
  const t = o['type'];
  if (t !== 'new' && t !== 'update' && t !== 'end') throw new InputError(`${topic}: type must be new, update or end`);
  return t;
}

/** `frigate/events` as Frigate documents it: {type, before, after} with after.id, camera, label... */
export function parseFrigateEvent(payload: Buffer, topic: string): FrigateEvent {
  const o = parseJson(payload, topic);
  const type = eventType(o, topic);
  const a = obj(o['after'], `${topic}: after`);
  const sub = a['sub_label'];
  return {
    type,
    after: {
      id: str(a, 'id', 'after'),
      camera: str(a, 'camera', 'after'),
      label: str(a, 'label', 'after'),
      ...(typeof sub === 'string' && sub ? { subLabel: sub } : Array.isArray(sub) && typeof sub[0] === 'string' ? { subLabel: sub[0] } : {}),
      hasSnapshot: a['has_snapshot'] === true,
      currentZones: strings(a['current_zones']),
      enteredZones: strings(a['entered_zones']),
      falsePositive: a['false_positive'] === true,
    },
  };
}

/** `frigate/reviews`: {type, before, after} with after.camera, after.severity, after.data.detections. */
export function parseFrigateReview(payload: Buffer, topic: string): FrigateReview {
  const o = parseJson(payload, topic);
  const type = eventType(o, topic);
  const a = obj(o['after'], `${topic}: after`);
  const severity = a['severity'];
  if (severity !== 'alert' && severity !== 'detection') throw new InputError(`${topic}: after.severity must be alert or detection`);
  const data = obj(a['data'], `${topic}: after.data`);
  return {
    type,
    camera: str(a, 'camera', 'after'),
    severity,
    detections: strings(data['detections']),
    objects: strings(data['objects']),
    zones: strings(data['zones']),
  };
}
