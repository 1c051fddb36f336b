import type { CameraResult } from '../../core/results.js';

/** HA drops state attributes above 16 KB; stay well under (bytes). */
export const MAX_ATTRIBUTES_BYTES = 15_000;

/**
 * The result JSON for the result topic (and so the sensor's attributes), under 16 KB:
 * the description and then the objects list are shortened when needed.
 */
export function resultJson(result: CameraResult): string {
  let r = result;
  let text = JSON.stringify(r);
  while (Buffer.byteLength(text) > MAX_ATTRIBUTES_BYTES) {
    if (r.description.length > 200) r = { ...r, description: `${r.description.slice(0, Math.floor(r.description.length / 2))}…` };
    else if (r.objects.length > 0) r = { ...r, objects: r.objects.slice(0, Math.floor(r.objects.length / 2)) };
    else break;
    text = JSON.stringify(r);
  }
  return text;
}
