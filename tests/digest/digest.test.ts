import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaBackend } from '../../src/backends/llama/backend.js';
import { disposeSharedLlama } from '../../src/backends/llama/runtime.js';
import { ErrorReporter } from '../../src/core/error-reporter.js';
import { Metrics } from '../../src/core/metrics.js';
import type { CameraResult } from '../../src/core/results.js';
import type { Digest } from '../../src/digest/build.js';
import { msUntil, resolvePeriod } from '../../src/digest/period.js';
import { DigestService, parseDigestRequest } from '../../src/digest/service.js';
import { MqttBridge } from '../../src/mqtt/client.js';
import { TimelineStore } from '../../src/publishers/timeline/store.js';
import { backendGenerate, routerGenerate, type AskGenerate } from '../../src/sources/ask.js';
import { silentLog, spec, testConfig } from '../backends/llama-helpers.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { harness, type Harness } from '../router/harness.js';

/** 2026-03-10 19:59:59.000 local: the fixed clock, one second before a 20:00 digest. */
const NOW = new Date(2026, 2, 10, 19, 59, 59).getTime();
const at = (day: number, h: number) => new Date(2026, 2, day, h, 0).toISOString();

let n = 0;
function result(camera: string, ts: string, objects: string[], alert = false): CameraResult {
  n++;
  return {
    id: `r${n}`, camera, summary: `${objects.join(' and ') || 'nothing'} at the ${camera}`, description: 'd', objects, alert,
    severity: alert ? 'high' : 'none', event_type: 'other', route: 'tiny', route_reason: 'test', model: 'm', latency_ms: 1, ts, source: 'mqtt',
  };
}

describe('digest periods', () => {
  it('resolves named periods and real dates in local time; refuses unknown names, impossible and future dates', () => {
    expect(resolvePeriod('today', NOW)).toEqual({ name: 'today', since: new Date(2026, 2, 10).getTime(), until: NOW });
    expect(resolvePeriod('yesterday', NOW)).toEqual({ name: 'yesterday', since: new Date(2026, 2, 9).getTime(), until: new Date(2026, 2, 10).getTime() });
    expect(resolvePeriod('last_7d', NOW).since).toBe(NOW - 7 * 86_400_000);
    expect(resolvePeriod('2026-02-28', NOW)).toMatchObject({ since: new Date(2026, 1, 28).getTime(), until: new Date(2026, 2, 1).getTime() });
    expect(() => resolvePeriod('2026-02-30', NOW)).toThrow('digest: 2026-02-30 is not a date');
    expect(() => resolvePeriod('2026-13-01', NOW)).toThrow('is not a date');
    expect(() => resolvePeriod('2026-03-11', NOW)).toThrow('digest: 2026-03-11 is in the future');
    expect(() => resolvePeriod('fortnight', NOW)).toThrow(/unknown period "fortnight" \(use today, yesterday, last_24h, last_7d or a date YYYY-MM-DD\)/);
    expect(msUntil('20:00', NOW)).toBe(1000);
    expect(msUntil('19:00', NOW)).toBe(23 * 3_600_000 + 1000);
  });

  it('parses requests: empty, a name, JSON; refuses bad JSON, a bad camera id or id, and oversized payloads', () => {
    expect(parseDigestRequest(Buffer.from(''), 'today')).toMatchObject({ period: 'today' });
    expect(parseDigestRequest(Buffer.from(' yesterday '), 'today')).toMatchObject({ period: 'yesterday' });
    expect(parseDigestRequest(Buffer.from('{"period":"last_24h","camera":"porch","id":"d-1"}'), 'today')).toEqual({ period: 'last_24h', camera: 'porch', id: 'd-1' });
    expect(() => parseDigestRequest(Buffer.from('{"period":'), 'today')).toThrow(/digest: invalid JSON/);
    expect(() => parseDigestRequest(Buffer.from('{"camera":"../x"}'), 'today')).toThrow(/"camera" must be a camera id/);
    expect(() => parseDigestRequest(Buffer.from('{"period":7}'), 'today')).toThrow(/"period" must be a string/);
    expect(() => parseDigestRequest(Buffer.from('{"id":"a b"}'), 'today')).toThrow(/"id" must be/);
    expect(() => parseDigestRequest(Buffer.alloc(2000, 0x61), 'today')).toThrow(/larger than 1024/);
  });
});

describe('timeline counts (real SQLite rows)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-digest-store-'));
  const store = new TimelineStore(dir, { days: 365, maxBytes: 1e9 });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts events, alerts and objects per camera in the period, an object once per event', () => {
    store.add(result('porch', at(10, 8), ['person', 'parcel']));
    store.add(result('porch', at(10, 9), ['person', 'Person'], true));
    store.add(result('drive', at(10, 10), ['car']));
    store.add(result('drive', at(9, 10), ['car'])); // yesterday
    const today = resolvePeriod('today', NOW);
    const c = store.counts(today.since, today.until);
    expect(c.map(({ latest: _l, ...x }) => x)).toEqual([
      { camera: 'drive', events: 1, alerts: 0, objects: { car: 1 } },
      { camera: 'porch', events: 2, alerts: 1, objects: { person: 2, parcel: 1 } },
    ]);
    expect(c[1]!.latest.map((l) => l.ts)).toEqual([at(10, 9), at(10, 8)]);
    expect(store.counts(today.since, today.until, 'garage')).toEqual([]);
    const y = resolvePeriod('yesterday', NOW);
    expect(store.counts(y.since, y.until).map((x) => [x.camera, x.events])).toEqual([['drive', 1]]);
  });
});

describe.skipIf(!haveMosquitto())('sarai/digest/request -> sarai/digest through a real mosquitto, real timeline rows and a tiny real model', () => {
  const tmp = tempModelDir('sarai-digest-');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sarai-digest-data-'));
  let broker: Mosquitto;
  let probe: MqttProbe;
  let bridge: MqttBridge;
  let store: TimelineStore;
  let backend: LlamaBackend;
  let noText: Harness;
  const services: DigestService[] = [];

  const service = async (generate: AskGenerate, time?: string): Promise<DigestService> => {
    const metrics = new Metrics();
    const s = new DigestService({
      mqtt: bridge, errors: new ErrorReporter(bridge, silentLog, metrics), log: silentLog, store: () => store, generate,
      period: 'today', now: () => NOW, ...(time ? { time } : {}),
    });
    await s.start();
    await bridge.subscriptionsSettled();
    services.push(s);
    return s;
  };
  const digestOf = async (request: string, id: string): Promise<Digest> => {
    const got = probe.waitForTopic('sarai/digest', 60_000, (m) => (JSON.parse(m.payload.toString()) as Digest).id === id);
    await probe.publish('sarai/digest/request', request);
    return JSON.parse((await got).payload.toString()) as Digest;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/digest', 'sarai/digest/event', 'sarai/error'], 5);
    bridge = new MqttBridge({ url: broker.url, baseTopic: 'sarai', protocolVersion: 5, keepaliveS: 30, reconnectMaxMs: 2000, maxPayloadBytes: 1_048_576 }, silentLog, new Metrics());
    await bridge.connect();
    store = new TimelineStore(dataDir, { days: 3650, maxBytes: 1e9 });
    store.add(result('porch', at(10, 8), ['person', 'parcel']));
    store.add(result('porch', at(10, 9), ['person'], true));
    store.add(result('drive', at(10, 10), ['car']));
    const config = testConfig({ tiny: { backend: 'llama', name: 'tiny-test', context_length: 2048, max_tokens: 16, temperature: 0 } });
    backend = new LlamaBackend({ role: 'tiny', spec: spec(config, 'tiny'), modelPath: tinyLlamaFile(path.join(tmp.dir, 'tiny.gguf')), runtime: config.runtime, log: silentLog });
    await backend.start();
    noText = harness({});
  }, 60_000);
  afterAll(async () => {
    for (const s of services) await s.stop();
    await bridge?.close();
    await probe?.close();
    await backend?.dispose();
    await disposeSharedLlama();
    await noText?.stop();
    store?.close();
    await broker?.stop();
    tmp.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('publishes the whole-house digest: counts from the database, prose from the text role, and the event', async () => {
    const s = await service(backendGenerate(backend));
    const event = probe.waitForTopic('sarai/digest/event', 60_000, (m) => m.payload.toString().includes('"id":"house-1"'));
    const d = await digestOf('{"period":"today","id":"house-1"}', 'house-1');
    expect(d).toMatchObject({ id: 'house-1', period: 'today', text_source: 'model', model: expect.any(String) as string, totals: { events: 3, alerts: 1, cameras: 2 } });
    expect(d.cameras).toEqual([
      { camera: 'drive', events: 1, alerts: 0, objects: { car: 1 } },
      { camera: 'porch', events: 2, alerts: 1, objects: { person: 2, parcel: 1 } },
    ]);
    expect(d.text.length).toBeGreaterThan(0);
    expect(JSON.parse((await event).payload.toString())).toMatchObject({ event_type: 'digest', id: 'house-1', totals: { events: 3 } });
    await s.stop();
  }, 120_000);

  it('a camera with no events, and an empty period, get a plain digest that says so (no model needed)', async () => {
    const s = await service(backendGenerate(backend));
    const garage = await digestOf('{"camera":"garage","id":"g-1"}', 'g-1');
    expect(garage).toMatchObject({ camera: 'garage', cameras: [], totals: { events: 0, alerts: 0, cameras: 0 }, text: 'No events from garage today.', text_source: 'counts' });
    const empty = await digestOf('{"period":"2026-01-01","id":"e-1"}', 'e-1');
    expect(empty).toMatchObject({ period: '2026-01-01', text: 'No camera events on 2026-01-01.', text_source: 'counts' });
    await s.stop();
  }, 60_000);

  it('the text model failing (no text role): the plain digest from the counts, said so, and reported', async () => {
    const s = await service(routerGenerate(noText.router));
    const report = probe.waitForTopic('sarai/error', 20_000, (m) => m.payload.toString().includes('digest f-1: the text model failed'));
    const d = await digestOf('{"id":"f-1"}', 'f-1');
    expect(d.text_source).toBe('counts');
    expect(d.text).toBe('3 events and 1 alert across 2 cameras today. drive: 1 event: car ×1. porch: 2 events (1 alert): person ×2, parcel ×1. (Plain digest: the text model failed.)');
    expect(d.model_error).toMatch(/no configured, healthy backend/);
    await report;
    await s.stop();
  }, 60_000);

  it('bad requests and periods that do not exist are reported on sarai/error; nothing is published', async () => {
    const s = await service(backendGenerate(backend));
    for (const [payload, why] of [
      ['{"period":', 'digest: invalid JSON'],
      ['{"camera":"Front Door"}', '\\"camera\\" must be a camera id'],
      ['2026-02-30', 'digest: 2026-02-30 is not a date'],
      ['fortnight', 'digest: unknown period \\"fortnight\\"'],
    ] as const) {
      const report = probe.waitForTopic('sarai/error', 20_000, (m) => m.payload.toString().includes(why));
      await probe.publish('sarai/digest/request', payload);
      expect(JSON.parse((await report).payload.toString())).toMatchObject({ source: 'digest', topic: 'sarai/digest/request' });
    }
    // still serving
    expect((await digestOf('{"camera":"drive","id":"ok-1"}', 'ok-1')).totals.events).toBe(1);
    await s.stop();
  }, 120_000);

  it('publishes the configured period by itself at digest.time', async () => {
    // the fixed clock is one second before 20:00
    const got = probe.waitForTopic('sarai/digest', 20_000, (m) => (JSON.parse(m.payload.toString()) as Digest).period === 'today' && !['house-1', 'g-1', 'f-1', 'ok-1'].includes((JSON.parse(m.payload.toString()) as Digest).id) && (JSON.parse(m.payload.toString()) as Digest).text_source === 'model');
    await service(backendGenerate(backend), '20:00');
    expect((JSON.parse((await got).payload.toString()) as Digest).totals).toEqual({ events: 3, alerts: 1, cameras: 2 });
  }, 60_000);
});
