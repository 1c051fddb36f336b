import { CAMERA_SEVERITIES, type CameraModelAnswer } from '../core/camera-schema.js';
import type { GenerateResult } from '../backends/types.js';

export const SUMMARY_MAX = 255;

/** The last line of every camera prompt (snapshot and clip): the answer shape parseCameraAnswer reads. */
export const ANSWER_FORMAT = `Answer as JSON with summary (one sentence, at most ${SUMMARY_MAX} characters), description, objects (list), alert (true/false) and severity (none, low, medium, high).`;

/** Cuts to `max` characters at a word boundary when it can, with an ellipsis. */
export function clampText(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

function firstJsonObject(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

/**
 * The model's answer as the camera schema. A structured answer (result.json, or JSON in the
 * text) is used field by field with safe defaults; a plain caption (captioning models cannot
 * follow a schema) becomes summary and description.
 */
export function parseCameraAnswer(result: GenerateResult): CameraModelAnswer {
  const raw = result.json ?? firstJsonObject(result.text);
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    const description = typeof o['description'] === 'string' ? o['description'].trim() : '';
    const summarySrc = typeof o['summary'] === 'string' && o['summary'].trim() ? o['summary'] : description || result.text;
    const objects = Array.isArray(o['objects']) ? o['objects'].filter((x): x is string => typeof x === 'string').slice(0, 50).map((x) => clampText(x, 80)) : [];
    const sev = o['severity'];
    const severity = CAMERA_SEVERITIES.find((s) => s === sev) ?? 'none';
    const changed = typeof o['changed'] === 'string' && o['changed'].trim() ? clampText(o['changed'], 1_000) : undefined;
    return {
      summary: clampText(summarySrc, SUMMARY_MAX),
      description: clampText(description || summarySrc, 4_000),
      objects,
      alert: o['alert'] === true,
      severity,
      ...(changed ? { changed } : {}),
    };
  }
  const text = result.text.trim();
  return { summary: clampText(text, SUMMARY_MAX), description: clampText(text, 4_000), objects: [], alert: false, severity: 'none' };
}
