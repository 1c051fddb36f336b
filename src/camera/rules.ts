import type { EventType, Severity } from '../core/results.js';

const LABEL_TYPES: Record<string, EventType> = {
  person: 'person', face: 'person',
  car: 'vehicle', truck: 'vehicle', bus: 'vehicle', motorcycle: 'vehicle', bicycle: 'vehicle', boat: 'vehicle', license_plate: 'vehicle',
  dog: 'animal', cat: 'animal', bird: 'animal', horse: 'animal', sheep: 'animal', cow: 'animal', bear: 'animal', deer: 'animal',
  fox: 'animal', raccoon: 'animal', squirrel: 'animal', rabbit: 'animal', animal: 'animal',
  package: 'package', amazon: 'package', ups: 'package', fedex: 'package', dhl: 'package', usps: 'package',
};
// Checked in this order: a person holding a package is a person event.
const KEYWORDS: [EventType, RegExp][] = [
  ['person', /\b(person|people|man|men|woman|women|child|children|kid|someone|visitor|courier|delivery (man|woman|person))\b/i],
  ['package', /\b(package|parcel|box|delivery)\b/i],
  ['vehicle', /\b(car|vehicle|truck|van|bus|motorcycle|bicycle|bike)\b/i],
  ['animal', /\b(dog|cat|bird|animal|fox|deer|horse|raccoon|squirrel)\b/i],
];

/** person / vehicle / animal / package / other: from a detector label when known, else from the words. */
export function eventTypeOf(label: string | undefined, objects: string[], summary: string): EventType {
  if (label) {
    const t = LABEL_TYPES[label.toLowerCase()];
    if (t) return t;
  }
  const text = `${objects.join(' ')} ${summary}`;
  for (const [type, re] of KEYWORDS) if (re.test(text)) return type;
  return 'other';
}

/** Minutes since midnight for `HH:MM`. */
function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** True when `now` (local time) is inside `HH:MM-HH:MM`; ranges may cross midnight; '' is never. */
export function inQuietHours(range: string, now: Date): boolean {
  if (!range) return false;
  const [from, to] = range.split('-');
  if (!from || !to) return false;
  const a = minutes(from);
  const b = minutes(to);
  const t = now.getHours() * 60 + now.getMinutes();
  return a <= b ? t >= a && t < b : t >= a || t < b;
}

export interface AlertRules {
  alertLabels: string[];
  alertZones: string[];
  quietHours: string;
}

export interface AlertInput {
  modelAlert: boolean;
  modelSeverity: Severity;
  eventType: EventType;
  label?: string;
  zones?: string[];
  /** Frigate already classed this as an alert (review severity `alert`). */
  detectorAlert?: boolean;
  now: Date;
}

/**
 * The alert is the model's word OR the configured rules: a watched label (alert_labels, by
 * detector label or event type) inside a watched zone (alert_zones; only applied when the
 * zones are known, i.e. from Frigate). During quiet hours only `high` severity alerts.
 */
export function decideAlert(rules: AlertRules, input: AlertInput): { alert: boolean; severity: Severity } {
  const watched = rules.alertLabels.map((l) => l.toLowerCase());
  const labelHit = watched.includes(input.eventType) || (input.label !== undefined && watched.includes(input.label.toLowerCase()));
  const zoneOk = rules.alertZones.length === 0 || input.zones === undefined || input.zones.some((z) => rules.alertZones.includes(z));
  let alert = input.modelAlert || input.detectorAlert === true || (labelHit && zoneOk);
  if (input.zones !== undefined && rules.alertZones.length > 0 && !zoneOk && !input.detectorAlert) alert = false;
  let severity = input.modelSeverity;
  if (alert && severity === 'none') severity = input.detectorAlert ? 'medium' : 'low';
  if (alert && inQuietHours(rules.quietHours, input.now) && severity !== 'high') alert = false;
  return { alert, severity };
}
