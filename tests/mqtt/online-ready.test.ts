import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * `sarai/status online` means inputs are heard: an automation that publishes a snapshot the
 * moment it sees `online` (first start: no broker session holds subscriptions yet) reaches the
 * camera source, which here refuses the non-image on sarai/error.
 */
describe.skipIf(!haveMosquitto())('online is announced once every input is subscribed', () => {
  let broker: Mosquitto;
  let probe: MqttProbe;
  let app: TestApp | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/status', 'sarai/error'], 5);
  });

  afterAll(async () => {
    await app?.stop();
    await probe?.close();
    await broker?.stop();
  });

  it('a snapshot published on `online` is handled', async () => {
    let sent = false;
    probe.client.on('message', (topic, payload) => {
      if (topic !== 'sarai/status' || payload.toString() !== 'online' || sent) return;
      sent = true;
      probe.client.publish('sarai/camera/door/snapshot', Buffer.from('not an image, sent on online'), { qos: 1 });
    });
    app = await startTestApp({ mqtt: { url: broker.url } });
    await probe.waitFor((m) => m.topic === 'sarai/error' && /door\/snapshot/.test(m.payload.toString()), 10_000);
    expect(sent).toBe(true);
    const err = JSON.parse(probe.messages.find((m) => m.topic === 'sarai/error')?.payload.toString() ?? '{}') as Record<string, unknown>;
    expect(String(err['error'])).toMatch(/not an image/);
  }, 30_000);
});
