import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulerFor } from '../../src/scheduler/index.js';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';

const json = (m: Received) => JSON.parse(m.payload.toString()) as Record<string, unknown>;

/**
 * mosquitto hands a shared filter's messages out round robin, counting every message that
 * matches the filter. The workers publish under camera/ too (the detected-phase image at intake,
 * then result, event, alert): on a shared `camera/#` each of those took a worker's turn, and
 * with two workers every snapshot went back to the worker that had just taken the previous one.
 */
describe.skipIf(!haveMosquitto())('cluster mode: the workers\' own camera outputs do not skew the shared inputs (real mosquitto)', () => {
  let broker: Mosquitto;
  let probe: MqttProbe;
  const workers: TestApp[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/camera/+/result', 'sarai/error'], 5);
    for (const id of ['w1', 'w2']) {
      const w = await startTestApp({
        mqtt: { url: broker.url },
        cluster: { group: 'house', worker_id: id },
        camera_defaults: { cooldown_s: 0 },
        models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 64 } },
        scheduler: { concurrency: 1 },
      });
      attachRouter(w.app.ctx, timedRouter(20, (n) => ({ summary: `person ${n}`, description: 'd', objects: ['person'], alert: false, severity: 'none' })));
      workers.push(w);
    }
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    for (const w of workers) await w.stop();
    await broker?.stop();
  });

  it('snapshots published one after another alternate between two workers: 10 and 10 of 20', async () => {
    const sent = 20;
    const images = await Promise.all(Array.from({ length: sent }, (_, i) => patternJpeg(7100 + i, 64, 48)));
    // one camera each (no coalescing); each publish waits for the broker's PUBACK, so a
    // worker's image of snapshot k reaches the broker before snapshot k+1 does
    for (let i = 0; i < sent; i++) await probe.client.publishAsync(`sarai/camera/s${i}/snapshot`, images[i] as Buffer, { qos: 1 });
    const results = () => probe.messages.filter((m) => m.topic.endsWith('/result') && !m.retain).map(json);
    await expect.poll(() => results().length, { timeout: 30_000 }).toBe(sent);
    const byWorker = (id: string) => results().filter((r) => r['worker'] === id).length;
    expect([byWorker('w1'), byWorker('w2')]).toEqual([10, 10]);
    for (const w of workers) expect(schedulerFor(w.app.ctx).scheduler.counters.totals.queued).toBe(10);
    expect(probe.messages.filter((m) => m.topic === 'sarai/error')).toHaveLength(0);
  }, 60_000);

  it('the guard still reports each malformed camera topic once for the group (levels no input or output has)', async () => {
    const isError = (topic: string) => (m: Received) => m.topic === 'sarai/error' && json(m)['topic'] === topic;
    for (const t of ['sarai/camera', 'sarai/camera/front', 'sarai/camera/a/b/snapshot']) {
      await probe.client.publishAsync(t, 'x', { qos: 1 });
      await probe.waitFor(isError(t), 20_000, t);
    }
    // a barrier after them: the errors above had time to come twice if they were going to
    await probe.client.publishAsync('sarai/camera/z/y/x', 'x', { qos: 1 });
    await probe.waitFor(isError('sarai/camera/z/y/x'), 20_000, 'barrier');
    for (const t of ['sarai/camera', 'sarai/camera/front', 'sarai/camera/a/b/snapshot']) expect(probe.messages.filter(isError(t)), t).toHaveLength(1);
  }, 60_000);

  it('mosquitto keeps a member\'s turn whatever its flow control: receive maximum 1 with the PUBACK held still gets every other message (so a receive maximum sized to the model slots would not steer inputs)', async () => {
    const held: (() => void)[] = [];
    let seenByA = 0;
    const a = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      properties: { receiveMaximum: 1 },
      customHandleAcks: (_t, _m, _p, done) => {
        seenByA++;
        held.push(() => done(0));
      },
    });
    const b = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    try {
      let seenByB = 0;
      b.on('message', () => seenByB++);
      await a.subscribeAsync('$share/rm/rm/t', { qos: 1 });
      await b.subscribeAsync('$share/rm/rm/t', { qos: 1 });
      for (let i = 0; i < 20; i++) await probe.client.publishAsync('rm/t', `m${i}`, { qos: 1 });
      await expect.poll(() => seenByB, { timeout: 10_000 }).toBe(10);
      expect(seenByA).toBe(1); // one in flight: the broker holds A's other nine for A
      // each PUBACK lets the broker send A the next one it kept for A
      for (let i = 2; i <= 10; i++) {
        held.shift()?.();
        await expect.poll(() => seenByA, { timeout: 10_000 }).toBe(i);
      }
      held.splice(0).forEach((ack) => ack());
      expect([seenByA, seenByB]).toEqual([10, 10]);
    } finally {
      await a.endAsync(true);
      await b.endAsync(true);
    }
  }, 60_000);
});
