import { perContext } from '../core/context.js';
import type { CameraChange, CameraResult } from '../core/results.js';

/** The part of a camera's previous accepted result that the next one is compared with. */
export type Remembered = Pick<CameraResult, 'id' | 'summary' | 'objects' | 'ts'>;

/**
 * Camera memory: each camera's previous accepted (described, published) result, so the next
 * description can say what changed ("The parcel is still on the step") instead of describing
 * the scene again. In memory only: after a restart the first description starts afresh.
 */
export class CameraMemory {
  private readonly last = new Map<string, Remembered>();

  previous(camera: string): Remembered | undefined {
    return this.last.get(camera);
  }

  remember(result: CameraResult): void {
    this.last.set(result.camera, { id: result.id, summary: result.summary, objects: result.objects, ts: result.ts });
  }
}

/** The prompt lines that give the model the previous description as context. */
export function memoryPrompt(prev: Remembered, now: Date): string {
  const mins = Math.max(0, Math.round((now.getTime() - Date.parse(prev.ts)) / 60_000));
  const ago = mins === 0 ? 'less than a minute ago' : mins === 1 ? '1 minute ago' : `${mins} minutes ago`;
  return [
    `Earlier (${ago}) this camera showed: ${prev.summary}`,
    'Compare with that: in changed, say what is new and what left. If the scene is the same, the summary may say so (for example "The parcel is still on the step").',
  ].join('\n');
}

/** This result's objects against the previous ones, plus the model's own words. */
export function changeSince(prev: Remembered, objects: string[], text: string | undefined): CameraChange {
  const key = (s: string) => s.trim().toLowerCase();
  const before = new Set(prev.objects.map(key));
  const now = new Set(objects.map(key));
  return {
    since_id: prev.id,
    since_ts: prev.ts,
    new: objects.filter((o) => !before.has(key(o))),
    left: prev.objects.filter((o) => !now.has(key(o))),
    ...(text ? { text } : {}),
  };
}

/** The bridge's camera memory, created on first use. */
export const cameraMemoryFor = perContext(() => new CameraMemory());
