import { InputError } from '../core/errors.js';

export const PERIODS = ['today', 'yesterday', 'last_24h', 'last_7d'] as const;
export type PeriodName = (typeof PERIODS)[number];

export interface Period {
  /** `today`, `yesterday`, `last_24h`, `last_7d`, or a date `YYYY-MM-DD`. */
  name: string;
  /** ms since epoch, inclusive. */
  since: number;
  /** ms since epoch, exclusive. */
  until: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Local midnight of the day holding `t`, shifted by `days`. */
function dayStart(t: number, days = 0): number {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime();
}

/**
 * A named period or a calendar date -> [since, until) in local time. Throws InputError for a
 * name that is not one, a date that does not exist (2026-02-30) or one in the future.
 */
export function resolvePeriod(name: string, now = Date.now()): Period {
  switch (name) {
    case 'today':
      return { name, since: dayStart(now), until: now };
    case 'yesterday':
      return { name, since: dayStart(now, -1), until: dayStart(now) };
    case 'last_24h':
      return { name, since: now - 86_400_000, until: now };
    case 'last_7d':
      return { name, since: now - 7 * 86_400_000, until: now };
  }
  const m = DATE_RE.exec(name);
  if (!m) throw new InputError(`digest: unknown period ${JSON.stringify(name.slice(0, 40))} (use ${PERIODS.join(', ')} or a date YYYY-MM-DD)`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const since = new Date(y, mo - 1, d).getTime();
  const check = new Date(since);
  if (check.getFullYear() !== y || check.getMonth() !== mo - 1 || check.getDate() !== d) throw new InputError(`digest: ${name} is not a date`);
  if (since > now) throw new InputError(`digest: ${name} is in the future`);
  return { name, since, until: Math.min(new Date(y, mo - 1, d + 1).getTime(), now) };
}

/** Milliseconds from `now` to the next local `HH:MM`. */
export function msUntil(hhmm: string, now = Date.now()): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const d = new Date(now);
  let at = new Date(d.getFullYear(), d.getMonth(), d.getDate(), h, m).getTime();
  if (at <= now) at = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, h, m).getTime();
  return at - now;
}
