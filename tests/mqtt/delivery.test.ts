import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRouter } from '../../src/router/types.js';
import { schedulerFor } from '../../src/scheduler/index.js';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { haveMosquitto } from '../helpers/mosquitto.js';

interface Seen {
  topic: string;
  payload: Buffer;
}

/**
 * A subscriber with its own persistent session (like Home Assistant's): what it missed while the
 * broker was down is delivered when both are back.
 */
async function persistentListener(url: string, filters: string[]): Promise<{ client: MqttClient; seen: Seen[] }> {
  const seen: Seen[] = [];
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId: `listener_${Math.random().toString(16).slice(2)}`,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    reconnectPeriod: 200,
  });
  client.on('message', (topic, payload) => seen.push({ topic, payload }));
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, seen };
}

/** mosquitto autosaves every second: wait until its file is newer than `sinceMs`. */
async function brokerSaved(dir: string, sinceMs: number): Promise<void> {
  await expect
    .poll(() => {
      try {
        return statSync(path.join(dir, 'mosquitto.db')).mtimeMs > sinceMs;
      } catch {
        return false;
      }
    }, { timeout: 20_000, interval: 100 })
    .toBe(true);
}

const answer = (n: number) => ({ summary: `scene ${n}`, description: 'd', objects: [], alert: false, severity: 'none' });
const bridgeConfig = (url: string) => ({
  mqtt: { url, reconnect_max_ms: 1000, session_expiry_s: 86_400 },
  camera_defaults: { cooldown_s: 0 },
  models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 256 } },
  scheduler: { concurrency: 2, dedup_distance: 0 },
});

describe.skipIf(!haveMosquitto())('MQTT delivery guarantees against a real mosquitto that restarts', () => {
  let broker: BrokerProcess;
  beforeAll(async () => {
    broker = await BrokerProcess.start({ persistence: true });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('describes a snapshot published while SARAi was stopped, once it restarts (mqtt.session_expiry_s, QoS 1)', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sarai-delivery-'));
    const listener = await persistentListener(broker.url, ['sarai/camera/+/result', 'sarai/error']);
    try {
      const first = await startTestApp(bridgeConfig(broker.url), { dataDir, keepDataDir: true, beforeStart: (a) => attachRouter(a.ctx, timedRouter(0, answer)) });
      await first.stop();
      // SARAi is down: the camera publishes anyway, at QoS 1
      const camera = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      await camera.publishAsync('sarai/camera/porch/snapshot', await patternJpeg(7, 160, 120), { qos: 1 });
      await camera.endAsync();

      const router = timedRouter(0, answer);
      const second = await startTestApp(bridgeConfig(broker.url), { dataDir, beforeStart: (a) => attachRouter(a.ctx, router) });
      try {
        await expect.poll(() => listener.seen.find((m) => m.topic === 'sarai/camera/porch/result')?.payload.toString(), { timeout: 20_000 }).toMatch(/"summary":"scene 1"/);
        expect(router.calls).toBe(1);
        expect(second.logs.lines.some((l) => l['msg'] === 'delivering inputs queued by the broker while SARAi was away')).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      await listener.client.endAsync(true);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('ends jobs accepted before a broker SIGKILL with their result or a sarai/error once the broker is back', async () => {
    const listener = await persistentListener(broker.url, ['sarai/camera/+/result', 'sarai/error']);
    const subscribedAt = Date.now();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const inner = timedRouter(0, answer);
    const router: ModelRouter = {
      ...inner,
      async describe(req) {
        const n = ++calls;
        await gate; // both jobs are running when the broker dies
        if (n === 2) throw new Error('model crashed mid-answer');
        return inner.describe(req);
      },
    };
    const app: TestApp = await startTestApp(bridgeConfig(broker.url), { beforeStart: (a) => attachRouter(a.ctx, router) });
    try {
      const camera = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
      await camera.publishAsync('sarai/camera/gate/snapshot', await patternJpeg(11, 160, 120), { qos: 1 });
      await expect.poll(() => calls, { timeout: 10_000 }).toBe(1);
      await camera.publishAsync('sarai/camera/fail/snapshot', await patternJpeg(12, 160, 120), { qos: 1 });
      await expect.poll(() => calls, { timeout: 10_000 }).toBe(2);
      await camera.endAsync(true);
      await brokerSaved(broker.dir, subscribedAt); // the listener's session is on disk

      await broker.kill();
      await expect.poll(() => app.app.ctx.mqtt.connected, { timeout: 10_000 }).toBe(false);
      release(); // the jobs finish while there is no broker: results wait in the bridge
      await new Promise((r) => setImmediate(r));
      await broker.restart();

      await expect.poll(() => listener.seen.filter((m) => m.topic === 'sarai/camera/gate/result').length, { timeout: 30_000 }).toBeGreaterThan(0);
      await expect
        .poll(() => listener.seen.filter((m) => m.topic === 'sarai/error').map((m) => JSON.parse(m.payload.toString()) as { topic: string; error: string }), { timeout: 30_000 })
        .toContainEqual(expect.objectContaining({ topic: 'sarai/camera/fail/snapshot', error: expect.stringMatching(/model crashed/) as unknown }));
      await schedulerFor(app.app.ctx).scheduler.idle();
      const t = schedulerFor(app.app.ctx).scheduler.counters.totals;
      expect({ queued: t.queued, completed: t.completed, failed: t.failed }).toEqual({ queued: 2, completed: 1, failed: 1 });
    } finally {
      release(); // a failed step must not leave the jobs waiting (stop waits for them)
      await app.stop();
      await listener.client.endAsync(true);
    }
  }, 120_000);
});

describe.skipIf(!haveMosquitto())('mosquitto SIGKILLed for 10 s during 20 snapshots/s', () => {
  it('accounts for every accepted snapshot (described + coalesced + deduplicated + rejected) and publishes every description', async () => {
    const broker = await BrokerProcess.start({ persistence: true });
    const listener = await persistentListener(broker.url, ['sarai/camera/+/result']);
    const subscribedAt = Date.now();
    const router = timedRouter(30, answer);
    const app = await startTestApp(bridgeConfig(broker.url), { beforeStart: (a) => attachRouter(a.ctx, router) });
    // a camera-side publisher that queues while the broker is away, like mqtt.js in a camera bridge
    const camera = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 200, clientId: `cam_${Date.now()}` });
    const cams = ['c1', 'c2', 'c3', 'c4'];
    const frames = await Promise.all(Array.from({ length: 8 }, (_, i) => patternJpeg(300 + i, 96, 72)));
    const notImage = Buffer.from('not an image at all');
    let published = 0;
    const sendFor = async (ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        for (const c of cams) {
          // 1 in 16 is garbage (rejected); frames repeat (some deduplicated)
          const payload = published % 16 === 15 ? notImage : (frames[published % frames.length] as Buffer);
          camera.publish(`sarai/camera/${c}/snapshot`, payload, { qos: 1 });
          published++;
        }
        await new Promise((r) => setTimeout(r, 200)); // 4 cameras x 5/s = 20 snapshots/s
      }
    };
    try {
      await brokerSaved(broker.dir, subscribedAt);
      await sendFor(3_000);
      await broker.kill();
      const downAt = Date.now();
      await sendFor(10_000);
      await broker.restart();
      const downMs = Date.now() - downAt;
      await sendFor(3_000);
      const { scheduler } = schedulerFor(app.app.ctx);
      // wait until the publisher's queue drained and the bridge got everything it will get
      await expect.poll(() => (camera as unknown as { queue: unknown[] }).queue.length, { timeout: 30_000 }).toBe(0);
      // then until the bridge has taken in what it will get (the count stops moving for 2 s):
      // what a SIGKILLed broker had acknowledged but not yet forwarded is the broker's loss
      let last = -1;
      await expect.poll(async () => {
        await scheduler.idle();
        const t = scheduler.counters.totals;
        const now = t.queued + t.rejected;
        const stable = now === last;
        last = now;
        return stable;
      }, { timeout: 60_000, interval: 2_000 }).toBe(true);
      await scheduler.idle();
      const t = scheduler.counters.totals;
      // accepted = queued; every one ends in exactly one counter, none failed or dropped
      expect(t.completed + t.coalesced + t.deduplicated).toBe(t.queued);
      expect({ failed: t.failed, dropped: t.dropped }).toEqual({ failed: 0, dropped: 0 });
      expect(t.rejected).toBeGreaterThan(0);
      expect(t.completed).toBeGreaterThan(0);
      // every described snapshot's result reached a subscriber (QoS 1 may repeat one; none lost)
      const summaries = () => new Set(listener.seen.map((m) => (JSON.parse(m.payload.toString()) as { summary: string }).summary));
      await expect.poll(() => summaries().size, { timeout: 30_000 }).toBe(t.completed);
      console.log(`burst fault: published ${published}, reached the bridge ${t.queued + t.rejected}, broker down ${downMs} ms, accepted ${t.queued}, rejected ${t.rejected}, completed ${t.completed}, coalesced ${t.coalesced}, deduplicated ${t.deduplicated}, results seen ${summaries().size}`);
    } finally {
      await camera.endAsync(true);
      await app.stop();
      await listener.client.endAsync(true);
      await broker.stop();
    }
  }, 180_000);
});
