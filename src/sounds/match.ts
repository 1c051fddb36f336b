import type { SoundScore } from '../backends/types.js';
import type { Config } from '../config/schema/index.js';

export type SoundConfig = Config['audio_events']['sounds'];

export interface SoundMatch {
  /** The configured sound id (audio_events.sounds key). */
  sound: string;
  /** The model label that matched, as the model spells it. */
  modelLabel: string;
  score: number;
}

/**
 * The sounds among `wanted` (a camera's list) whose matched model labels reach their threshold:
 * for each sound its best-scoring label. Labels compare case-insensitively and exactly, so
 * "Glass" never matches "Glass door" by accident.
 */
export function matchSounds(scores: SoundScore[], sounds: SoundConfig, wanted: readonly string[]): SoundMatch[] {
  const byLabel = new Map<string, SoundScore>();
  for (const s of scores) {
    const key = s.label.trim().toLowerCase();
    const prev = byLabel.get(key);
    if (!prev || s.score > prev.score) byLabel.set(key, s);
  }
  const out: SoundMatch[] = [];
  for (const id of wanted) {
    const spec = sounds[id];
    if (!spec) continue;
    let best: SoundScore | undefined;
    for (const name of spec.match) {
      const s = byLabel.get(name.trim().toLowerCase());
      if (s && (!best || s.score > best.score)) best = s;
    }
    if (best && best.score >= spec.threshold) out.push({ sound: id, modelLabel: best.label, score: best.score });
  }
  return out.sort((a, b) => b.score - a.score);
}
