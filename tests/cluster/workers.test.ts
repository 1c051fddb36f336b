import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulerFor } from '../../src/scheduler/index.js';
import { Metrics } from '../../src/core/metrics.js';
import { createLogger } from '../../src/log/logger.js';
import { MqttBridge } from '../../src/mqtt/client.js';
import { EmbeddedBroker } from '../../src/mqtt/embedded-broker.js';
import { LogSink, startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';

const CAMERAS = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
const PER_CAMERA = 20;

function startWorker(url: string, workerId: string): Promise<TestApp> {
  return startTestApp({
    mqtt: { url },
    cluster: { group: 'house', worker_id: workerId },
    camera_defaults: { cooldown_s: 0 },
    models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 64 } },
    scheduler: { concurrency: 1 },
  });
}

const json = (m: Received) => JSON.parse(m.payload.toString()) as Record<string, unknown>;
const results = (p: MqttProbe) => p.messages.filter((m) => /^sarai\/camera\/c\d\/result$/.test(m.topic) && !m.retain).map(json);

describe.skipIf(!haveMosquitto())('three workers in one group share the cameras (real mosquitto, MQTT 5)', () => {
  let broker: Mosquitto;
  let probe: MqttProbe;
  const workers: TestApp[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#', 'homeassistant/device/+/config'], 5);
    for (const id of ['w1', 'w2', 'w3']) {
      const w = await startWorker(broker.url, id);
      attachRouter(w.app.ctx, timedRouter(15, (n) => ({ summary: `person ${n}`, description: 'd', objects: ['person'], alert: true, severity: 'high' })));
      workers.push(w);
    }
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    for (const w of workers) await w.stop();
    await broker?.stop();
  });

  it('each worker has its own retained status and lease; the group status is online', async () => {
    for (const id of ['w1', 'w2', 'w3']) {
      await probe.waitForTopic(`sarai/worker/${id}/status`, 10_000, (m) => m.payload.toString() === 'online');
      await probe.waitForTopic(`sarai/worker/${id}/lease`, 10_000, (m) => json(m)['worker'] === id);
      await probe.waitFor((m) => m.topic.startsWith('homeassistant/device/') && m.topic.endsWith(`_worker_${id}/config`), 10_000, `${id} device`);
    }
    await probe.waitForTopic('sarai/status', 10_000, (m) => m.payload.toString() === 'online');
    // one bridge device per worker, and no shared `<prefix>_bridge` device in cluster mode
    expect(probe.messages.some((m) => m.topic.endsWith('_bridge/config'))).toBe(false);
  });

  it('every snapshot goes to exactly one worker: the counters of all workers add up to what was sent, no job is published twice', async () => {
    const sent = CAMERAS.length * PER_CAMERA;
    const images = await Promise.all(Array.from({ length: sent }, (_, i) => patternJpeg(5000 + i, 64, 48)));
    const t0 = Date.now();
    for (let i = 0; i < sent; i++) {
      const cam = CAMERAS[i % CAMERAS.length] as string;
      await probe.client.publishAsync(`sarai/camera/${cam}/snapshot`, images[i] as Buffer, { qos: 1, properties: { userProperties: { ts: String(t0 + i) } } });
    }
    const queued = () => workers.reduce((n, w) => n + schedulerFor(w.app.ctx).scheduler.counters.totals.queued, 0);
    await expect.poll(queued, { timeout: 30_000 }).toBe(sent);
    for (const w of workers) await schedulerFor(w.app.ctx).scheduler.idle();
    for (const w of workers) expect(schedulerFor(w.app.ctx).scheduler.counters.totals.queued).toBeGreaterThan(0); // shared, not all on one
    const t = workers.map((w) => schedulerFor(w.app.ctx).scheduler.counters.totals);
    const sum = (k: keyof (typeof t)[number]) => t.reduce((n, x) => n + x[k], 0);
    expect(sum('completed') + sum('coalesced') + sum('deduplicated')).toBe(sent);
    // every camera got a result; no job id appears twice (so no duplicate alert either)
    await expect.poll(() => new Set(results(probe).map((r) => r['camera'])).size, { timeout: 10_000 }).toBe(CAMERAS.length);
    const ids = results(probe).map((r) => r['job_id']);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    // one description per job id: the same bytes again are the retained-result repair
    expect(new Set(results(probe).map((r) => JSON.stringify(r))).size).toBe(new Set(ids).size);
    for (const r of results(probe)) {
      expect(r['alert']).toBe(true);
      expect(['w1', 'w2', 'w3']).toContain(r['worker']);
      expect(Date.parse(String(r['input_ts']))).toBeGreaterThanOrEqual(t0);
    }
  }, 60_000);

  it('a redelivered snapshot (same bytes, same producer time) on another worker gives no second result', async () => {
    const img = await patternJpeg(9001, 64, 48);
    const ts = String(Date.now());
    const publish = () => probe.client.publishAsync('sarai/camera/redo/snapshot', img, { qos: 1, properties: { userProperties: { ts } } });
    await publish();
    const first = await probe.waitForTopic('sarai/camera/redo/result', 20_000, (m) => !m.retain);
    const dedup = () => workers.reduce((n, w) => n + schedulerFor(w.app.ctx).scheduler.counters.totals.deduplicated, 0);
    // send it twice more: round robin puts at least one copy on another worker
    for (let i = 0; i < 2; i++) {
      const before = dedup();
      await publish();
      await expect.poll(dedup, { timeout: 20_000 }).toBe(before + 1);
    }
    expect(probe.messages.filter((m) => m.topic === 'sarai/camera/redo/result' && !m.retain)).toHaveLength(1);
    expect(json(first)['job_id']).toMatch(/^redo_[0-9a-f]{16}_\d+$/);
  }, 60_000);

  it('a garbage retained lease is reported on sarai/error and replaced by a valid one', async () => {
    await probe.publish('sarai/worker/w2/lease', Buffer.from([0, 0xff, 0x42]), { retain: true });
    const err = await probe.waitForTopic('sarai/error', 10_000, (m) => json(m)['topic'] === 'sarai/worker/w2/lease');
    expect(json(err)).toMatchObject({ source: 'cluster', error: expect.stringMatching(/worker lease is not JSON/) });
    await probe.waitForTopic('sarai/worker/w2/lease', 10_000, (m) => m.payload.length > 3 && json(m)['worker'] === 'w2');
  });

  it('a second worker with the same worker id is reported by both', async () => {
    const twin = await startWorker(broker.url, 'w1');
    try {
      const dupes = () => probe.messages.filter((m) => m.topic === 'sarai/error' && /two workers use cluster\.worker_id "w1"/.test(String(json(m)['error'])));
      await expect.poll(() => dupes().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    } finally {
      await twin.stop();
    }
  }, 30_000);

  it('a stopped worker says offline on its own topic; the group stays online', async () => {
    const w3 = workers.pop() as TestApp;
    await w3.stop();
    await probe.waitForTopic('sarai/worker/w3/status', 10_000, (m) => m.payload.toString() === 'offline');
    expect(probe.messages.filter((m) => m.topic === 'sarai/status').at(-1)?.payload.toString()).toBe('online');
  }, 30_000);
});

describe('cluster mode on an MQTT 3.1.1 broker', () => {
  it('says clearly that the broker refused MQTT 5 and that cluster mode needs it', async () => {
    const aedes = new EmbeddedBroker('127.0.0.1', 0, createLogger('error'));
    await aedes.start();
    const logs = new LogSink();
    const bridge = new MqttBridge(
      { url: aedes.url, baseTopic: 'sarai', protocolVersion: 5, keepaliveS: 30, reconnectMaxMs: 60_000, maxPayloadBytes: 1_048_576, shareGroup: 'house', workerStatusTopic: 'sarai/worker/old/status' },
      createLogger('debug', logs),
      new Metrics(),
    );
    try {
      await bridge.connect();
      expect(bridge.connected).toBe(false);
      expect(logs.lines.some((l) => /cluster mode \(cluster\.group\) needs an MQTT 5 broker.*3\.1\.1/.test(String(l['msg'])))).toBe(true);
    } finally {
      await bridge.close();
      await aedes.stop();
    }
  }, 30_000);
});
