import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { cameraMention, contentWords, countAsk } from '../../src/history/question.js';
import { instantOf, parseTimeRange } from '../../src/history/time-range.js';
import { HistoryIntent } from '../../src/router/history-intent.js';
import { configFromObject } from '../../src/config/load.js';

// Wednesday 2026-11-25 14:30 in Madrid (UTC+1 in November)
const TZ = 'Europe/Madrid';
const NOW = Date.parse('2026-11-25T13:30:00Z');
const iso = (ms: number | undefined): string => new Date(ms ?? NaN).toISOString();
const range = (q: string, now = NOW, tz = TZ) => {
  const r = parseTimeRange(q, now, tz);
  return r ? { since: iso(r.since), until: iso(r.until), label: r.label } : undefined;
};

describe('time filters read from a question, in the configured time zone', () => {
  it('today, yesterday, this morning, last night, tonight: local day boundaries, not UTC ones', () => {
    expect(range('how many cars today?')).toEqual({ since: '2026-11-24T23:00:00.000Z', until: '2026-11-25T23:00:00.000Z', label: 'today' });
    expect(range('who came yesterday')).toMatchObject({ since: '2026-11-23T23:00:00.000Z', until: '2026-11-24T23:00:00.000Z', label: 'yesterday' });
    expect(range('anything this morning?')).toMatchObject({ since: '2026-11-25T04:00:00.000Z', until: '2026-11-25T11:00:00.000Z', label: 'this morning' });
    expect(range('yesterday afternoon at the gate')).toMatchObject({ since: '2026-11-24T11:00:00.000Z', until: '2026-11-24T16:00:00.000Z' });
    expect(range('what happened last night')).toMatchObject({ since: '2026-11-24T17:00:00.000Z', until: '2026-11-25T05:00:00.000Z' });
    // the same instant in another zone is another day
    expect(range('today', Date.parse('2026-11-25T23:30:00Z'), 'America/New_York')).toMatchObject({ since: '2026-11-25T05:00:00.000Z' });
  });

  it('since 8 / since 8:30 / since 8pm, and "since 20" before it happened today means yesterday', () => {
    expect(range('did anyone come since 8?')).toMatchObject({ since: '2026-11-25T07:00:00.000Z', label: 'since 08:00' });
    expect(range('since 8:30')).toMatchObject({ since: '2026-11-25T07:30:00.000Z' });
    expect(range('since 8pm')).toMatchObject({ since: '2026-11-24T19:00:00.000Z', label: 'since 20:00' });
    expect(range('since 20')).toMatchObject({ since: '2026-11-24T19:00:00.000Z' });
    expect(range('since 8')?.until).toBe(iso(NOW + 1));
    expect(() => parseTimeRange('since 25:00', NOW, TZ)).toThrow(InputError);
  });

  it('last hour, last 3 hours, last 30 minutes', () => {
    expect(range('any motion in the last hour')).toEqual({ since: iso(NOW - 3_600_000), until: iso(NOW + 1), label: 'in the last hour' });
    expect(range('past 3 hours')?.since).toBe(iso(NOW - 3 * 3_600_000));
    expect(range('last 30 minutes')?.since).toBe(iso(NOW - 30 * 60_000));
  });

  it('weekday names: the most recent one, today included; "last wednesday" is a week ago', () => {
    expect(range('on monday')).toMatchObject({ since: '2026-11-22T23:00:00.000Z', until: '2026-11-23T23:00:00.000Z', label: 'on monday' });
    expect(range('wednesday')?.since).toBe('2026-11-24T23:00:00.000Z');
    expect(range('last wednesday')?.since).toBe('2026-11-17T23:00:00.000Z');
    expect(range('since monday')).toMatchObject({ since: '2026-11-22T23:00:00.000Z', until: iso(NOW + 1) });
  });

  it('dates: the most recent one; a date that does not exist is a clear error, not a guess', () => {
    expect(range('what happened on February 3')).toMatchObject({ since: '2026-02-02T23:00:00.000Z', label: 'on 2026-02-03' });
    expect(range('on the 3rd of december')?.since).toBe('2025-12-02T23:00:00.000Z');
    expect(range('2024-02-29')?.since).toBe('2024-02-28T23:00:00.000Z');
    expect(() => parseTimeRange('what happened on February 30?', NOW, TZ)).toThrow(/no such date as "february 30" \(february 2026 has 28 days\)/);
    expect(() => parseTimeRange('2026-13-01', NOW, TZ)).toThrow(InputError);
    expect(() => parseTimeRange('april 31', NOW, TZ)).toThrow(/april .* has 30 days/);
  });

  it('no time words: no filter', () => {
    expect(range('when did the parcel arrive?')).toBeUndefined();
  });

  it('wall time to instant across a DST change (Madrid, 2026-03-29 02:00 -> 03:00)', () => {
    expect(iso(instantOf(2026, 3, 29, 0, 0, TZ))).toBe('2026-03-28T23:00:00.000Z');
    expect(iso(instantOf(2026, 3, 30, 0, 0, TZ))).toBe('2026-03-29T22:00:00.000Z');
  });
});

describe('reading a question without a model', () => {
  it('what to count, which camera, which words to search', () => {
    expect(countAsk('How many cars today?')).toEqual({ term: 'car', match: ['car'] });
    expect(countAsk('how many vehicles today?')).toEqual({ term: 'vehicle', match: ['vehicle', 'car', 'truck', 'van'] });
    expect(countAsk('how many people came to the door')?.term).toBe('people');
    expect(countAsk('how many deliveries yesterday')?.term).toBe('delivery');
    expect(countAsk('how many times did the dog bark')?.term).toBe('dog');
    expect(countAsk('how many events today')).toEqual({ term: '', match: [] });
    expect(countAsk('what is the weather')).toBeUndefined();
    expect(cameraMention('anyone at the front door today?', ['front', 'front_door', 'garden'])).toBe('front_door');
    expect(cameraMention('anyone in the garden', ['front_door'])).toBeUndefined();
    expect(contentWords('When did the parcel arrive at the front door yesterday?')).toEqual(['parcel', 'arrive', 'front', 'door']);
  });

  it('history intent: cues decide without embeddings; other questions are not history', async () => {
    const intent = new HistoryIntent(configFromObject({}, 'test').router);
    for (const q of ['how many cars today?', 'Did anyone come to the door?', 'when did the parcel arrive', 'any motion in the driveway since 8?', 'what happened yesterday']) {
      expect((await intent.decide(q, undefined)).history, q).toBe(true);
    }
    // past-tense openers that are general questions, or about a device's state, are not
    for (const q of ['turn on the kitchen lights', 'what is two plus two', 'tell me a joke', 'how many legs does a spider have?', 'did the lights turn off?', 'when did the second world war end?', 'what happened in 1969?', 'how many people may sit in a car?']) {
      expect((await intent.decide(q, undefined)).history, q).toBe(false);
    }
  });
});
