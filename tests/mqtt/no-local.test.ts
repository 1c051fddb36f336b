import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../src/mqtt/client.js';
import { INPUT_SUBSCRIBE } from '../../src/mqtt/input-topics.js';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

/**
 * The `camera/#` and `voice/#` catch-alls also match SARAi's own outputs (the snapshot on the
 * image entity, ~200 KB, twice per snapshot): on MQTT 5 the broker is asked (No Local) not to
 * send them back. Against a real mosquitto.
 */
describe.skipIf(!haveMosquitto())('the input catch-alls do not receive our own outputs back', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let t: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await startTestApp({ mqtt: { url: broker.url }, camera_defaults: { cooldown_s: 0 }, cameras: { front: {} } });
    attachRouter(t.app.ctx, timedRouter(0, (n) => ({ summary: `scene ${n}`, description: 'd', objects: [], alert: false, severity: 'none' })));
    probe = await MqttProbe.connect(broker.url, ['sarai/camera/front/#'], 5);
  });
  afterAll(async () => {
    await probe?.close();
    await t?.stop();
    await broker?.stop();
  });

  /**
   * Records what the bridge's connection receives live on a filter (as one more handler on
   * it); a subscription also brings the retained states, which are not echoes.
   */
  function record(filter: string, noLocal: boolean): { seen: IncomingMessage[]; off: () => void } {
    const seen: IncomingMessage[] = [];
    const off = t.app.ctx.mqtt.subscribe(filter, 'test-recorder', (m) => void (m.retain || seen.push(m)), 1, false, noLocal ? INPUT_SUBSCRIBE : {});
    return { seen, off };
  }

  it('a described snapshot: the bridge publishes its image and result, and receives only the snapshot', async () => {
    const rec = record('sarai/camera/#', true);
    await t.app.ctx.mqtt.subscriptionsSettled();
    const jpeg = await patternJpeg(7, 320, 240);
    await probe.publish('sarai/camera/front/snapshot', jpeg);
    await probe.waitForTopic('sarai/camera/front/result', 30_000);
    // the image goes out at `detected` and again after the result: wait for both, then for
    // one more message from outside, which the broker sends after anything it sent us before
    const images = () => probe.messages.filter((m) => m.topic === 'sarai/camera/front/image').length;
    await expect.poll(images, { timeout: 30_000 }).toBe(2);
    await probe.publish('sarai/camera/front/marker', 'after');
    await expect.poll(() => rec.seen.some((m) => m.topic === "sarai/camera/front/marker"), { timeout: 20_000 }).toBe(true);
    rec.off();
    expect(rec.seen.map((m) => m.topic)).toEqual(['sarai/camera/front/snapshot', 'sarai/camera/front/marker']);
  });

  it('without No Local the broker does send our own publishes back (what the filter above is spared)', async () => {
    // the same filter cannot be taken without No Local once it has it (mosquitto keeps the first)
    expect(() => record('sarai/camera/#', false)).toThrow(/subscribed by .* with noLocal/);
    const plain = record('sarai/camera/+/image', false);
    await t.app.ctx.mqtt.subscriptionsSettled();
    await t.app.ctx.mqtt.publishAsync('sarai/camera/front/image', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), { qos: 1 });
    await expect.poll(() => plain.seen.some((m) => m.topic === 'sarai/camera/front/image'), { timeout: 20_000 }).toBe(true);
    plain.off();
  });
});
