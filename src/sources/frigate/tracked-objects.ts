import type { FrigateObject } from './payloads.js';

interface Seen {
  label: string;
  subLabel?: string;
  zones: Set<string>;
  at: number;
}

const MAX_TRACKED = 2_000;

/**
 * What was already described per Frigate tracked object id, so each object gets one
 * description unless it changed materially: another label or sub label (a face or plate
 * recognised), or it entered a zone it had not been in when described.
 */
export class TrackedObjects {
  private readonly seen = new Map<string, Seen>();

  /** True when `o` should be described now (never described, or changed materially). */
  needsDescription(o: FrigateObject): boolean {
    const s = this.seen.get(o.id);
    if (!s) return true;
    if (s.label !== o.label || (o.subLabel !== undefined && s.subLabel !== o.subLabel)) return true;
    return [...o.currentZones, ...o.enteredZones].some((z) => !s.zones.has(z));
  }

  markDescribed(o: FrigateObject, now = Date.now()): void {
    this.seen.delete(o.id);
    this.seen.set(o.id, { label: o.label, ...(o.subLabel ? { subLabel: o.subLabel } : {}), zones: new Set([...o.currentZones, ...o.enteredZones]), at: now });
    // Map keeps insertion order: the first keys are the oldest.
    while (this.seen.size > MAX_TRACKED) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }

  forget(id: string): void {
    this.seen.delete(id);
  }
}
