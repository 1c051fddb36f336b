import { describe, expect, it } from 'vitest';
import { clampText, parseCameraAnswer } from '../../src/camera/answer.js';
import { decideAlert, eventTypeOf, inQuietHours } from '../../src/camera/rules.js';
import type { CameraResult } from '../../src/core/results.js';
import { MAX_ATTRIBUTES_BYTES, resultJson } from '../../src/publishers/camera/index.js';

const gen = (text: string, json?: unknown) => ({ text, json, model: 'm', tokens: 1, latencyMs: 1 });
const at = (h: number, m = 0) => new Date(2026, 0, 1, h, m);
const rules = { alertLabels: ['person'], alertZones: [] as string[], quietHours: '' };

describe('camera answer parsing', () => {
  it('uses a structured answer field by field, with safe defaults', () => {
    expect(parseCameraAnswer(gen('', { summary: 'A fox', description: 'A fox crosses the lawn', objects: ['fox', 3], alert: 'yes', severity: 'extreme' }))).toEqual({
      summary: 'A fox', description: 'A fox crosses the lawn', objects: ['fox'], alert: false, severity: 'none',
    });
    expect(parseCameraAnswer(gen('Sure! {"summary":"Car in drive","description":"A red car","objects":["car"],"alert":true,"severity":"low"} done'))).toMatchObject({
      summary: 'Car in drive', alert: true, severity: 'low', objects: ['car'],
    });
  });

  it('turns a plain caption into summary and description, summary <= 255 characters', () => {
    const long = 'a person '.repeat(60);
    const a = parseCameraAnswer(gen(long));
    expect(a.summary.length).toBeLessThanOrEqual(255);
    expect(a.summary.endsWith('…')).toBe(true);
    expect(a.description).toBe(long.trim());
    expect(clampText('  short  text ', 255)).toBe('short text');
  });
});

describe('alert rules', () => {
  it('classifies event types from detector labels first, then words', () => {
    expect(eventTypeOf('car', [], '')).toBe('vehicle');
    expect(eventTypeOf(undefined, ['box'], 'A courier holds a package')).toBe('person');
    expect(eventTypeOf(undefined, [], 'A parcel on the doormat')).toBe('package');
    expect(eventTypeOf(undefined, ['cat'], '')).toBe('animal');
    expect(eventTypeOf(undefined, [], 'An empty street')).toBe('other');
  });

  it('alerts on the model word or a watched label, in watched zones only when zones are known', () => {
    expect(decideAlert(rules, { modelAlert: false, modelSeverity: 'none', eventType: 'person', now: at(12) })).toEqual({ alert: true, severity: 'low' });
    expect(decideAlert(rules, { modelAlert: false, modelSeverity: 'none', eventType: 'animal', now: at(12) }).alert).toBe(false);
    expect(decideAlert(rules, { modelAlert: true, modelSeverity: 'high', eventType: 'other', now: at(12) })).toEqual({ alert: true, severity: 'high' });
    const zoned = { ...rules, alertZones: ['porch'] };
    expect(decideAlert(zoned, { modelAlert: false, modelSeverity: 'none', eventType: 'person', zones: ['street'], now: at(12) }).alert).toBe(false);
    expect(decideAlert(zoned, { modelAlert: false, modelSeverity: 'none', eventType: 'person', zones: ['porch'], now: at(12) }).alert).toBe(true);
    expect(decideAlert(zoned, { modelAlert: false, modelSeverity: 'none', eventType: 'person', now: at(12) }).alert).toBe(true);
    expect(decideAlert(zoned, { modelAlert: false, modelSeverity: 'none', eventType: 'other', zones: ['street'], detectorAlert: true, now: at(12) })).toEqual({ alert: true, severity: 'medium' });
  });

  it('keeps quiet hours (crossing midnight) quiet except for high severity', () => {
    expect(inQuietHours('22:00-07:00', at(23, 30))).toBe(true);
    expect(inQuietHours('22:00-07:00', at(6, 59))).toBe(true);
    expect(inQuietHours('22:00-07:00', at(7, 0))).toBe(false);
    expect(inQuietHours('09:00-17:00', at(12))).toBe(true);
    expect(inQuietHours('', at(12))).toBe(false);
    const quiet = { ...rules, quietHours: '22:00-07:00' };
    expect(decideAlert(quiet, { modelAlert: true, modelSeverity: 'medium', eventType: 'person', now: at(23) }).alert).toBe(false);
    expect(decideAlert(quiet, { modelAlert: true, modelSeverity: 'high', eventType: 'person', now: at(23) }).alert).toBe(true);
  });
});

describe('result JSON for the sensor attributes', () => {
  it('stays under 16 KB by shortening the description, then the objects', () => {
    const r: CameraResult = {
      id: 'x', camera: 'c', summary: 's', description: 'd'.repeat(40_000), objects: Array.from({ length: 400 }, (_, i) => `object number ${i} `.repeat(3)),
      alert: false, severity: 'none', event_type: 'other', route: 'vision', route_reason: 'r', model: 'm', latency_ms: 1, ts: new Date().toISOString(), source: 'mqtt',
    };
    const text = resultJson(r);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_ATTRIBUTES_BYTES);
    expect(JSON.parse(text)).toMatchObject({ id: 'x', summary: 's' });
  });
});
