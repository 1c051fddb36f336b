/**
 * The latest live Frigate snapshot per `camera/label`, bounded in entries and bytes and
 * expired after `ttlMs` (an older one would not be used anyway): any number of distinct
 * snapshot topics cannot grow memory past `maxBytes`.
 */
export interface SnapshotCacheLimits {
  maxEntries: number;
  maxBytes: number;
  /** An entry older than this (ms) is gone. */
  ttlMs: number;
}

export class SnapshotCache {
  /** Insertion order = age: the first entry is the oldest. */
  private readonly entries = new Map<string, { bytes: Buffer; at: number }>();
  private total = 0;

  constructor(private readonly limits: SnapshotCacheLimits) {}

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.total;
  }

  /** Stores `bytes` as the latest for `key`, dropping expired and then the oldest entries to stay in bounds. */
  set(key: string, bytes: Buffer, now = Date.now()): void {
    this.delete(key);
    if (bytes.length > this.limits.maxBytes) return;
    this.sweep(now);
    while (this.entries.size >= this.limits.maxEntries || this.total + bytes.length > this.limits.maxBytes) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.entries.set(key, { bytes, at: now });
    this.total += bytes.length;
  }

  /** The entry for `key` when younger than the TTL. */
  get(key: string, now = Date.now()): { bytes: Buffer; at: number } | undefined {
    const e = this.entries.get(key);
    if (e && now - e.at > this.limits.ttlMs) {
      this.delete(key);
      return undefined;
    }
    return e;
  }

  /** Drops every expired entry (call now and then, so memory comes back when traffic stops). */
  sweep(now = Date.now()): void {
    for (const [key, e] of this.entries) {
      if (now - e.at <= this.limits.ttlMs) break; // the rest are younger
      this.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.total -= e.bytes.length;
  }
}
