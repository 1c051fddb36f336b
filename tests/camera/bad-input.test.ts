import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitSnapshot } from '../../src/camera/snapshot-intake.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, timedRouter } from './helpers.js';

describe.skipIf(!haveMosquitto())('bad camera input: a clear sarai/error, no topic from a bad id, next snapshot still described', () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let seq = 0;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['#']);
    app = await startTestApp({ mqtt: { url: broker.url }, camera_defaults: { cooldown_s: 0 } });
    attachRouter(app.app.ctx, timedRouter(0, (n) => ({ summary: `scene ${n}`, description: 'd', objects: [], alert: false, severity: 'none' })));
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  async function expectErrorThenRecovery(topic: string, payload: Buffer | string, match: RegExp, source = 'camera.mqtt'): Promise<void> {
    probe.clear();
    await probe.publish(topic, payload);
    const err = await probe.waitForTopic('sarai/error', 10_000);
    const report = JSON.parse(err.payload.toString()) as Record<string, unknown>;
    expect(report).toMatchObject({ source, topic });
    expect(String(report['error'])).toMatch(match);
    expect(Date.parse(String(report['ts']))).toBeGreaterThan(0);
    // the next valid snapshot is still described
    await probe.publish('sarai/camera/porch/snapshot', await patternJpeg(++seq, 64, 48));
    await probe.waitForTopic('sarai/camera/porch/result', 10_000);
  }

  it('text on the snapshot topic', async () => {
    await expectErrorThenRecovery('sarai/camera/porch/snapshot', 'hello, this is not a picture', /not an image \(\d+ bytes\)/);
  });

  it('binary garbage', async () => {
    await expectErrorThenRecovery('sarai/camera/porch/snapshot', Buffer.from([0, 1, 2, 3, 250, 251, 7, 8, 9]), /not an image/);
  });

  it('a truncated JPEG', async () => {
    const jpeg = await patternJpeg(99, 320, 240);
    await expectErrorThenRecovery('sarai/camera/porch/snapshot', jpeg.subarray(0, Math.floor(jpeg.length / 2)), /cannot decode JPEG image/);
  });

  it('a 40 MB image', async () => {
    const big = Buffer.alloc(40 * 1_048_576, 0x55);
    big[0] = 0xff; big[1] = 0xd8; big[2] = 0xff;
    await expectErrorThenRecovery('sarai/camera/porch/snapshot', big, /40\.0 MB exceeds mqtt\.max_payload_mb/, 'mqtt');
  });

  it.each(['a/b', '..', 'Front Door', 'cámara', 'UPPER', ' '])('camera id %j in the topic', async (id) => {
    const topic = `sarai/camera/${id}/snapshot`;
    await expectErrorThenRecovery(topic, await patternJpeg(500), /invalid camera id/);
  });

  it.each(['a+b', 'x#', '../etc', 'a'.repeat(65), ''])('camera id %j from another source (Frigate, HA) never builds a topic', async (id) => {
    probe.clear();
    expect(submitSnapshot(app.app.ctx, { camera: id, bytes: await patternJpeg(600), meta: { source: 'frigate' }, origin: 'frigate/events' })).toBe('rejected');
    const err = await probe.waitForTopic('sarai/error', 5_000);
    expect(JSON.parse(err.payload.toString())).toMatchObject({ source: 'camera.frigate', topic: 'frigate/events', error: expect.stringMatching(/invalid camera id/) });
  });

  it('never published on a topic built from a bad id', () => {
    const ours = probe.messages.map((m) => m.topic).filter((t) => t.startsWith('sarai/camera/') && !t.endsWith('/snapshot'));
    expect(ours.every((t) => /^sarai\/camera\/[a-z0-9_]+\/(result|image|event|alert)$/.test(t))).toBe(true);
    expect(ours.filter((t) => !t.startsWith('sarai/camera/porch/'))).toEqual([]);
  });
});
