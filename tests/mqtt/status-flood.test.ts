import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REANNOUNCE_MIN_MS } from '../../src/publishers/discovery/device-discovery.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

const BRIDGE_CONFIG = 'homeassistant/device/sarai_sarai_bridge/config';

describe.skipIf(!haveMosquitto())('a flood of homeassistant/status online', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    app = await startTestApp({ mqtt: { url: broker.url } });
    probe = await MqttProbe.connect(broker.url, ['sarai/#', 'homeassistant/device/+/config'], 5);
    await probe.waitForTopic(BRIDGE_CONFIG, 30_000);
  });
  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  it('300 onlines: one re-announcement at once and one after the window for the last of the burst, not 300', async () => {
    probe.clear();
    for (let i = 0; i < 300; i++) void probe.publish('homeassistant/status', 'online');
    await probe.publish('homeassistant/status', 'online');
    const announces = (): number => probe.messages.filter((m) => m.topic === BRIDGE_CONFIG).length;
    await probe.waitForTopic(BRIDGE_CONFIG, 10_000);
    const firstAt = Date.now();
    // the trailing one answers the last online of the burst, one window after the first
    await expect.poll(announces, { timeout: REANNOUNCE_MIN_MS + 20_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(REANNOUNCE_MIN_MS - 1_000);
    // a further window passes with nothing more to answer
    await new Promise((r) => setTimeout(r, REANNOUNCE_MIN_MS + 1_000));
    expect(announces()).toBe(2);
    const bytes = probe.messages.reduce((n, m) => n + m.payload.length, 0);
    expect(probe.messages.length).toBeLessThan(40);
    expect(bytes).toBeLessThan(100_000);

    // a single online later, outside the window, is answered at once
    probe.clear();
    await probe.publish('homeassistant/status', 'online');
    await probe.waitForTopic(BRIDGE_CONFIG, 3_000);
  });
});
