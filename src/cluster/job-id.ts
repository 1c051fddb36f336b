import { createHash } from 'node:crypto';

/** Oldest/newest producer timestamp we believe (ms since epoch): anything else is ignored. */
const MIN_TS_MS = Date.UTC(2000, 0, 1);
const MAX_TS_MS = Date.UTC(2200, 0, 1);

/**
 * A producer's own timestamp for an input, from the MQTT 5 user property `ts` (ms since epoch,
 * or ISO 8601). Undefined when absent or implausible: never trusted to build anything.
 */
export function producerTs(userProperties: Record<string, string | string[]> | undefined): number | undefined {
  const raw = userProperties?.['ts'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || v.length > 40) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(n) && n >= MIN_TS_MS && n <= MAX_TS_MS ? n : undefined;
}

/**
 * The id of a job, derived from its input only (content hash + camera + the producer's time
 * when given), so the same message redelivered to another worker gets the same id.
 */
export function jobIdOf(camera: string, bytes: Buffer, producerTsMs?: number): string {
  const h = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return `${camera}_${h}${producerTsMs === undefined ? '' : `_${producerTsMs}`}`;
}
