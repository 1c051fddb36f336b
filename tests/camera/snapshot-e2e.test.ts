import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyCaptioner, type TinyCaptioner } from '../fixtures/onnx/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { readRetained, solidJpeg, tempDir } from './helpers.js';

const run = haveMosquitto();

describe.skipIf(!run)('camera snapshot path end to end (real mosquitto, the bridge router, tiny ONNX captioner on transformers.js)', () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let captioner: TinyCaptioner;
  let tmp: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    tmp = await tempDir('cam-e2e');
    captioner = await makeTinyCaptioner(path.join(tmp.dir, 'captioner'));
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['#']);
    const models = { vision: { name: 'captioner', backend: 'transformers', model: captioner.dir, image_size: 64 } };
    app = await startTestApp({
      mqtt: { url: broker.url },
      models,
      runtime: { onnx_threads: 1 },
      cameras: { front_door: { name: 'Front door', cooldown_s: 0 } },
      camera_defaults: { cooldown_s: 0, alert_off_s: 1 },
    });
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
    await tmp?.cleanup();
  });

  it('announces configured cameras with sensor, alert, image and event components (retained)', async () => {
    const prefix = app.app.ctx.discovery.idPrefix;
    const m = await readRetained(broker.url, `homeassistant/device/${prefix}_camera_front_door/config`);
    const cfg = JSON.parse(m.toString()) as { cmps: Record<string, Record<string, unknown>>; dev: { name: string } };
    expect(cfg.dev.name).toContain('Front door');
    // the bridge's last will greys out every camera entity in HA
    expect(cfg).toMatchObject({ availability_topic: 'sarai/status', payload_available: 'online', payload_not_available: 'offline', dev: { via_device: `${prefix}_bridge` } });
    expect(cfg.cmps['summary']).toMatchObject({ p: 'sensor', state_topic: 'sarai/camera/front_door/result', json_attributes_topic: 'sarai/camera/front_door/result' });
    expect(cfg.cmps['alert']).toMatchObject({ p: 'binary_sensor', state_topic: 'sarai/camera/front_door/alert', payload_on: 'ON', off_delay: 1 });
    expect(cfg.cmps['image']).toMatchObject({ p: 'image', image_topic: 'sarai/camera/front_door/image', content_type: 'image/jpeg' });
    expect(cfg.cmps['event']).toMatchObject({ p: 'event', state_topic: 'sarai/camera/front_door/event', event_types: ['person', 'vehicle', 'animal', 'package', 'other'] });
    // stable entity ids the HA 2026 way: default_entity_id, never object_id (ignored since 2026.4)
    expect(Object.fromEntries(Object.entries(cfg.cmps).map(([k, c]) => [k, c['default_entity_id']]))).toEqual({
      summary: 'sensor.sarai_camera_front_door_summary', alert: 'binary_sensor.sarai_camera_front_door_alert',
      image: 'image.sarai_camera_front_door_image', event: 'event.sarai_camera_front_door_event',
    });
    expect(m.toString()).not.toContain('object_id');
  });

  it('describes a JPEG published on sarai/camera/<id>/snapshot with the real model', async () => {
    const jpeg = await solidJpeg([20, 30, 220]);
    await probe.publish('sarai/camera/front_door/snapshot', jpeg);
    const res = await probe.waitForTopic('sarai/camera/front_door/result', 30_000);
    const result = JSON.parse(res.payload.toString()) as Record<string, unknown>;
    expect(JSON.parse((await readRetained(broker.url, 'sarai/camera/front_door/result')).toString())).toEqual(result);
    expect(result).toMatchObject({
      camera: 'front_door',
      summary: captioner.captionFor([20, 30, 220]),
      route: 'vision',
      model: 'captioner',
      source: 'mqtt',
      event_type: 'other',
      alert: false,
    });
    expect(typeof result['latency_ms']).toBe('number');
    expect(Date.parse(String(result['ts']))).toBeGreaterThan(0);

    // the raw snapshot at the `detected` phase, then the described copy, retained (a JPEG that
    // already fits image_size is passed through, so that copy may be the same bytes)
    const raw = await probe.waitForTopic('sarai/camera/front_door/image');
    expect(raw.payload).toEqual(jpeg);
    const img = await probe.waitForTopic('sarai/camera/front_door/image', 10_000, (m) => m !== raw);
    expect(img.payload.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(await readRetained(broker.url, 'sarai/camera/front_door/image')).toEqual(img.payload);
    const ev = await probe.waitForTopic('sarai/camera/front_door/event');
    expect(JSON.parse(ev.payload.toString())).toEqual({ event_type: 'other', summary: result['summary'] });
    const alert = await probe.waitForTopic('sarai/camera/front_door/alert');
    expect(alert.payload.toString()).toBe('OFF');
  });

  it('announces an unconfigured camera on its first result', async () => {
    await probe.publish('sarai/camera/garage_2/snapshot', await solidJpeg([200, 10, 10]));
    const res = await probe.waitForTopic('sarai/camera/garage_2/result', 30_000);
    expect(JSON.parse(res.payload.toString())).toMatchObject({ camera: 'garage_2', summary: captioner.captionFor([200, 10, 10]) });
    const prefix = app.app.ctx.discovery.idPrefix;
    await probe.waitForTopic(`homeassistant/device/${prefix}_camera_garage_2/config`);
  });

  it('republishes camera states when Home Assistant comes back online', async () => {
    probe.clear();
    await probe.publish('homeassistant/status', 'online');
    const res = await probe.waitForTopic('sarai/camera/front_door/result', 10_000);
    expect(JSON.parse(res.payload.toString())).toMatchObject({ camera: 'front_door' });
    await probe.waitForTopic('sarai/camera/front_door/image');
  });
});
