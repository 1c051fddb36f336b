/**
 * Home Assistant going away, as an HA user sees it: the bridge keeps its camera automations
 * working after HA closes the websocket or goes silent, and a refused token is a clear
 * sarai/error while the rest of the bridge runs. Written against the feature (motion entity ->
 * described camera), not the websocket client, so it holds for any client underneath.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaServer } from '../fixtures/ha-server.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';

const TOKEN = 'llat-faults-4f1c9a';

describe.skipIf(!haveMosquitto())('Home Assistant faults, seen from the camera feature', () => {
  let broker: Mosquitto;
  let ha: HaServer;
  let probe: MqttProbe;
  let app: TestApp;
  let scene = 500;

  /** Motion on -> the camera is fetched from HA and described on MQTT. */
  const motionDescribed = async (): Promise<void> => {
    ha.cameras.set('camera.porch', await patternJpeg(scene++, 160, 120)); // a new scene each time (no dedup)
    const before = probe.messages.filter((m) => m.topic === 'sarai/camera/porch/result').length;
    ha.setState('binary_sensor.porch_motion', 'off');
    ha.setState('binary_sensor.porch_motion', 'on');
    await expect.poll(() => probe.messages.filter((m) => m.topic === 'sarai/camera/porch/result').length, { timeout: 20_000 }).toBeGreaterThan(before);
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    ha = new HaServer({ token: TOKEN });
    await ha.start();
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      homeassistant: { url: ha.url, token: TOKEN },
      cameras: { porch: { camera_entity: 'camera.porch', motion_entity: 'binary_sensor.porch_motion', cooldown_s: 0 } },
    });
    attachRouter(app.app.ctx, timedRouter(0, (n) => ({ summary: `porch ${n}`, description: 'd', objects: [], alert: false, severity: 'none' })));
    await ha.waitUntil(() => ha.subscribers >= 1, 20_000, 'bridge subscription');
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await ha?.stop();
    await broker?.stop();
  });

  it('HA closes the websocket (a restart): the bridge reconnects and motion is described again', async () => {
    await motionDescribed();
    const port = ha.port;
    await ha.stop();
    await ha.start(port);
    await ha.waitUntil(() => ha.subscribers >= 1, 60_000, 'resubscription after the restart');
    await motionDescribed();
  }, 90_000);

  it('HA goes silent with the socket open: the bridge notices, reconnects and motion is described again', async () => {
    const attempts = ha.authAttempts.length;
    ha.stallOpenConnections();
    // the heartbeat (30 s by default) finds the dead connection; a fresh one logs in again
    await ha.waitUntil(() => ha.authAttempts.length > attempts && ha.subscribers >= 1, 100_000, 'a fresh, subscribed connection');
    await motionDescribed();
  }, 120_000);

  it('HA answers auth_invalid: one clear sarai/error without the token, and MQTT snapshots are still described', async () => {
    // listen first: the refusal comes as soon as the bridge starts
    const sub = await MqttProbe.connect(broker.url, ['refused/#']);
    const refused = await startTestApp({ mqtt: { url: broker.url, base_topic: 'refused' }, homeassistant: { url: ha.url, token: 'wrong-token-77e1' } });
    try {
      attachRouter(refused.app.ctx, timedRouter(0, () => ({ summary: 'still working', description: 'd', objects: [], alert: false, severity: 'none' })));
      try {
        const err = await sub.waitForTopic('refused/error', 20_000, (m) => m.payload.toString().includes('auth_invalid'));
        const report = JSON.parse(err.payload.toString()) as { source: string; error: string };
        expect(report.source).toBe('homeassistant');
        expect(report.error).toMatch(/refused the token/);
        expect(err.payload.toString()).not.toContain('wrong-token-77e1');
        await sub.publish('refused/camera/gate/snapshot', await patternJpeg(901, 160, 120));
        const res = await sub.waitForTopic('refused/camera/gate/result', 20_000);
        expect(JSON.parse(res.payload.toString())).toMatchObject({ summary: 'still working' });
      } finally {
        await sub.close();
      }
    } finally {
      await refused.stop();
    }
  }, 60_000);
});
