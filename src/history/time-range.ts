import { InputError } from '../core/errors.js';

/** A time filter read from a question: ms since epoch, `until` exclusive, and how to say it. */
export interface TimeRange {
  since: number;
  until: number;
  label: string;
}

interface Wall {
  y: number;
  m: number; // 1-12
  d: number;
  h: number;
  min: number;
  /** 0 = Sunday */
  wd: number;
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const PARTS: Record<string, [number, number]> = { morning: [5, 12], afternoon: [12, 17], evening: [17, 22], night: [18, 30] };
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Throws a RangeError for a zone Intl does not know; '' is the process's zone (TZ). */
export function checkTimeZone(tz: string): void {
  if (tz) new Intl.DateTimeFormat('en-US', { timeZone: tz });
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { ...(tz ? { timeZone: tz } : {}), hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'long' });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time in `tz` at instant `ms`. */
export function wallTime(ms: number, tz: string): Wall {
  const p: Record<string, string> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) p[part.type] = part.value;
  return { y: Number(p['year']), m: Number(p['month']), d: Number(p['day']), h: Number(p['hour']), min: Number(p['minute']), wd: WEEKDAYS.indexOf((p['weekday'] ?? '').toLowerCase()) };
}

/** The instant of a wall-clock time in `tz` (day and hour may overflow: d+1, h=30 are fine). */
export function instantOf(y: number, m: number, d: number, h: number, min: number, tz: string): number {
  const guess = Date.UTC(y, m - 1, d, h, min);
  const offsetAt = (ms: number): number => {
    const w = wallTime(ms, tz);
    return Date.UTC(w.y, w.m - 1, w.d, w.h, w.min) - Math.floor(ms / MINUTE) * MINUTE;
  };
  const first = guess - offsetAt(guess);
  // once more at the result: the offset differs across a DST change
  return guess - offsetAt(first);
}

function dayStart(w: Pick<Wall, 'y' | 'm' | 'd'>, plusDays: number, tz: string): number {
  return instantOf(w.y, w.m, w.d + plusDays, 0, 0, tz);
}

function hhmm(h: number, min: number): string {
  return `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
}

/**
 * The time filter in a question, in time zone `tz` ('' = the process's), or undefined when it
 * names no time. Understood: today, yesterday, tonight, last night, this morning / afternoon /
 * evening (also after yesterday or a weekday), last hour / last N hours / minutes, since 8 /
 * since 8:30 / since 8pm, since yesterday / <weekday>, this week, weekday names (the most
 * recent one, today included), month-day dates ("February 3", "3rd of March", 2026-02-03).
 * A date that does not exist ("February 30") throws InputError rather than being guessed.
 */
export function parseTimeRange(question: string, now: number, tz: string): TimeRange | undefined {
  const q = question.toLowerCase();
  const today = wallTime(now, tz);
  const part = /\b(morning|afternoon|evening|night)\b/.exec(q)?.[1];

  const lastN = /\b(?:last|past)\s+(?:(\d{1,4}|an?|one|two|three|few)\s+)?(hours?|minutes?|mins?)\b/.exec(q);
  if (lastN) {
    const words: Record<string, number> = { a: 1, an: 1, one: 1, two: 2, three: 3, few: 3 };
    const n = lastN[1] === undefined ? 1 : (words[lastN[1]] ?? Number(lastN[1]));
    const unit = lastN[2]?.startsWith('h') ? HOUR : MINUTE;
    if (n < 1) throw new InputError(`ask: "${lastN[0]}" is not a time range`);
    return { since: now - n * unit, until: now + 1, label: `in the last ${n === 1 ? '' : `${n} `}${unit === HOUR ? 'hour' : 'minute'}${n === 1 ? '' : 's'}` };
  }

  const since = /\bsince\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|o'clock|h)?(?=\W|$)/.exec(q);
  if (since) {
    let h = Number(since[1]);
    const min = since[2] === undefined ? 0 : Number(since[2]);
    const suffix = since[3]?.replace(/\./g, '');
    if (suffix === 'pm' && h < 12) h += 12;
    if (suffix === 'am' && h === 12) h = 0;
    if (h > 23 || min > 59 || (suffix && ['am', 'pm'].includes(suffix) && Number(since[1]) > 12)) throw new InputError(`ask: "${since[0].trim()}" is not a time of day`);
    let start = instantOf(today.y, today.m, today.d, h, min, tz);
    // "since 8" at 07:00 means yesterday's 8 o'clock
    if (start > now) start = instantOf(today.y, today.m, today.d - 1, h, min, tz);
    return { since: start, until: now + 1, label: `since ${hhmm(h, min)}` };
  }

  const date = explicitDate(q, today);
  if (date) {
    const start = dayStart(date, 0, tz);
    return withPart({ since: start, until: dayStart(date, 1, tz), label: `on ${date.y}-${String(date.m).padStart(2, '0')}-${String(date.d).padStart(2, '0')}` }, date, part, tz);
  }

  if (/\blast night\b/.test(q)) {
    return { since: instantOf(today.y, today.m, today.d - 1, 18, 0, tz), until: instantOf(today.y, today.m, today.d, 6, 0, tz), label: 'last night' };
  }
  if (/\bsince yesterday\b/.test(q)) return { since: dayStart(today, -1, tz), until: now + 1, label: 'since yesterday' };
  if (/\byesterday\b/.test(q)) return withPart({ since: dayStart(today, -1, tz), until: dayStart(today, 0, tz), label: 'yesterday' }, shift(today, -1), part, tz);
  if (/\bthis week\b/.test(q)) {
    const back = (today.wd + 6) % 7; // weeks start on Monday
    return { since: dayStart(today, -back, tz), until: now + 1, label: 'this week' };
  }

  const wd = /\b(?:(since|last)\s+)?(sunday|monday|tuesday|wednesday|thursday|friday|saturday)s?\b/.exec(q);
  if (wd) {
    const target = WEEKDAYS.indexOf(wd[2] as string);
    let back = (today.wd - target + 7) % 7;
    if (back === 0 && wd[1] === 'last') back = 7;
    if (wd[1] === 'since') return { since: dayStart(today, -back, tz), until: now + 1, label: `since ${wd[2]}` };
    return withPart({ since: dayStart(today, -back, tz), until: dayStart(today, -back + 1, tz), label: `on ${wd[2]}` }, shift(today, -back), part, tz);
  }

  if (/\btonight\b/.test(q)) return { since: instantOf(today.y, today.m, today.d, 18, 0, tz), until: dayStart(today, 1, tz), label: 'tonight' };
  if (/\bthis (morning|afternoon|evening)\b/.test(q) || (/\btoday\b/.test(q) && part)) {
    return withPart({ since: dayStart(today, 0, tz), until: dayStart(today, 1, tz), label: 'today' }, today, part, tz);
  }
  if (/\btoday\b/.test(q)) return { since: dayStart(today, 0, tz), until: dayStart(today, 1, tz), label: 'today' };
  return undefined;
}

function shift(w: Wall, days: number): Pick<Wall, 'y' | 'm' | 'd'> {
  const t = new Date(Date.UTC(w.y, w.m - 1, w.d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** Narrows a whole-day range to a part of that day ("yesterday morning"). */
function withPart(r: TimeRange, day: Pick<Wall, 'y' | 'm' | 'd'>, part: string | undefined, tz: string): TimeRange {
  const hours = part ? PARTS[part] : undefined;
  if (!hours || !part) return r;
  const label = r.label === 'today' ? `this ${part}` : `${r.label} ${part === 'night' ? 'at night' : `in the ${part}`}`;
  return { since: instantOf(day.y, day.m, day.d, hours[0], 0, tz), until: instantOf(day.y, day.m, day.d, hours[1], 0, tz), label };
}

/** A calendar date named in the question; the most recent one when no year is given. */
function explicitDate(q: string, today: Wall): Pick<Wall, 'y' | 'm' | 'd'> | undefined {
  const months = MONTHS.join('|');
  const iso = /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/.exec(q);
  const md = new RegExp(`\\b(${months})\\s+(\\d{1,2})(?:st|nd|rd|th)?(?:,?\\s+(\\d{4}))?\\b`).exec(q);
  const dm = new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?(${months})(?:,?\\s+(\\d{4}))?\\b`).exec(q);
  let y: number | undefined;
  let m: number;
  let d: number;
  let said: string;
  if (iso) {
    [y, m, d, said] = [Number(iso[1]), Number(iso[2]), Number(iso[3]), iso[0]];
  } else if (md) {
    [m, d, said] = [MONTHS.indexOf(md[1] as string) + 1, Number(md[2]), md[0]];
    if (md[3]) y = Number(md[3]);
  } else if (dm) {
    [m, d, said] = [MONTHS.indexOf(dm[2] as string) + 1, Number(dm[1]), dm[0]];
    if (dm[3]) y = Number(dm[3]);
  } else {
    return undefined;
  }
  const year = y ?? (m > today.m || (m === today.m && d > today.d) ? today.y - 1 : today.y);
  const check = new Date(Date.UTC(year, m - 1, d));
  if (m < 1 || m > 12 || d < 1 || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new InputError(`ask: there is no such date as "${said}"${m >= 1 && m <= 12 ? ` (${MONTHS[m - 1]} ${year} has ${new Date(Date.UTC(year, m, 0)).getUTCDate()} days)` : ''}`);
  }
  return { y: year, m, d };
}
