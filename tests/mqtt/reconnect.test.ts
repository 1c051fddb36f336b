import { afterAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

describe.skipIf(!haveMosquitto())('MQTT reconnect', () => {
  let broker: Mosquitto | undefined;
  let t: TestApp | undefined;
  afterAll(async () => {
    await t?.stop();
    await broker?.stop();
  });

  it('reconnects with backoff after the broker restarts, says online again and resubscribes', async () => {
    broker = await startMosquitto();
    const port = broker.port;
    t = await startTestApp({ mqtt: { url: broker.url, reconnect_max_ms: 1_000 } });
    expect(t.app.ctx.mqtt.connected).toBe(true);

    // publishing while the broker is down must not throw
    await broker.stop();
    broker = undefined;
    const deadline = Date.now() + 10_000;
    while (t.app.ctx.mqtt.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(t.app.ctx.mqtt.connected).toBe(false);
    expect(() => t?.app.ctx.mqtt.publish('sarai/test', 'while offline')).not.toThrow();

    broker = await startMosquitto({ port });
    const probe = await MqttProbe.connect(broker.url, ['sarai/status', 'homeassistant/device/+/config'], 5);
    await probe.waitForTopic('sarai/status', 15_000, (m) => m.payload.toString() === 'online');
    // resubscribed: HA's birth message makes it re-announce
    probe.clear();
    await probe.publish('homeassistant/status', 'online');
    await probe.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 10_000);
    const logText = JSON.stringify(t.logs.lines);
    expect(logText).toContain('MQTT broker unreachable; retrying with backoff');
    await probe.close();
  });
});
