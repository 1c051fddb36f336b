import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { HaClient, haUrls } from '../../src/sources/homeassistant/index.js';
import { HaServer } from '../fixtures/ha-server.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, solidJpeg, timedRouter } from '../camera/helpers.js';

const TOKEN = 'llat-test-token';
const log = createLogger('silent');

describe('haUrls', () => {
  it('maps Core and Supervisor URLs to websocket and REST endpoints', () => {
    expect(haUrls('http://homeassistant.local:8123/')).toEqual({ websocket: 'ws://homeassistant.local:8123/api/websocket', api: 'http://homeassistant.local:8123/api' });
    expect(haUrls('http://supervisor/core')).toEqual({ websocket: 'ws://supervisor/core/websocket', api: 'http://supervisor/core/api' });
    expect(() => haUrls('ftp://x')).toThrow(/http/);
  });
});

describe('HaClient heartbeat', () => {
  let ha: HaServer;
  let c: HaClient | undefined;
  beforeAll(async () => {
    ha = new HaServer({ token: TOKEN });
    await ha.start();
  });
  afterAll(async () => {
    await c?.stop();
    await ha.stop();
  });

  it('pings a quiet Home Assistant and stays on the same connection while it answers', async () => {
    c = new HaClient({ url: ha.url, token: TOKEN, log, heartbeatMs: 100, commandTimeoutMs: 500 });
    c.start();
    await c.waitReady(5_000);
    await ha.waitUntil(() => ha.pings >= 3, 5_000, 'three pings');
    expect(ha.authAttempts).toHaveLength(1);
    expect(c.connected).toBe(true);
  });

  it('drops a connection that stopped answering (no FIN) and reconnects', async () => {
    if (!c) throw new Error('previous test did not start the client');
    await c.subscribeEvents('state_changed', () => undefined);
    const attempts = ha.authAttempts.length;
    ha.stallOpenConnections();
    // no pong within commandTimeoutMs: the client closes the dead socket and logs in again
    await ha.waitUntil(() => ha.authAttempts.length > attempts && ha.connections === 1, 5_000, 'a fresh connection');
    await c.waitReady(5_000);
    await ha.waitUntil(() => ha.subscribers === 1, 5_000, 'resubscription');
    await expect(c.fireEvent('sarai_result', { camera: 'x' })).resolves.toBeUndefined();
  });
});

describe('HaClient against the HA protocol fixture', () => {
  let ha: HaServer;
  const clients: HaClient[] = [];
  const client = (token = TOKEN, extra: Partial<ConstructorParameters<typeof HaClient>[0]> = {}) => {
    const c = new HaClient({ url: ha.url, token, log, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ha = new HaServer({ token: TOKEN });
    await ha.start();
    ha.cameras.set('camera.front_door', await solidJpeg([1, 2, 3]));
  });
  afterAll(async () => {
    for (const c of clients) await c.stop();
    await ha.stop();
  });

  it('authenticates, enables coalescing, and handles replies batched as JSON arrays', async () => {
    const c = client();
    c.start();
    await c.waitReady(5_000);
    // several commands in one tick: the fixture answers them in one array message
    await Promise.all([
      c.fireEvent('sarai_result', { camera: 'front_door' }),
      c.fireEvent('sarai_alert', { camera: 'front_door' }),
      c.callService('media_player', 'play_media', { media_content_id: 'http://127.0.0.1/tts.wav', media_content_type: 'music' }, { entity_id: 'media_player.kitchen' }),
    ]);
    expect(ha.firedEvents.map((e) => e.event_type)).toEqual(['sarai_result', 'sarai_alert']);
    expect(ha.serviceCalls).toEqual([
      { domain: 'media_player', service: 'play_media', service_data: { media_content_id: 'http://127.0.0.1/tts.wav', media_content_type: 'music' }, target: { entity_id: 'media_player.kitchen' } },
    ]);
  });

  it('delivers state_changed events and resubscribes after Home Assistant restarts', async () => {
    const seen: string[] = [];
    const c = client();
    await c.subscribeEvents('state_changed', (ev) => seen.push(`${String(ev.data['entity_id'])}=${String((ev.data['new_state'] as { state: string }).state)}`));
    c.start();
    await c.waitReady(5_000);
    await ha.waitUntil(() => ha.subscribers >= 1, 5_000, 'subscription');
    ha.setState('binary_sensor.front_door_motion', 'on');
    await expect.poll(() => seen).toContain('binary_sensor.front_door_motion=on');

    const port = ha.port;
    await ha.stop();
    await ha.start(port);
    await ha.waitUntil(() => ha.subscribers >= 1, 10_000, 'resubscription after restart');
    ha.setState('binary_sensor.front_door_motion', 'off');
    await expect.poll(() => seen).toContain('binary_sensor.front_door_motion=off');
  });

  it('reports auth_invalid and fetches camera_proxy with 200 / 404 / 401', async () => {
    const problems: string[] = [];
    const bad = client('wrong', { onProblem: (m) => problems.push(m) });
    bad.start();
    await expect.poll(() => problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/refused the token/);

    const good = client();
    const img = await good.cameraSnapshot('camera.front_door');
    expect(img.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    await expect(good.cameraSnapshot('camera.back_yard')).rejects.toThrow(/no camera camera\.back_yard \(camera_proxy 404\)/);
    await expect(bad.cameraSnapshot('camera.front_door')).rejects.toThrow(/refused camera_proxy .*\(401\).*token/);
    await expect(good.cameraSnapshot('camera.x/../../api/states')).rejects.toThrow(/invalid camera entity/);
  });
});

describe.skipIf(!haveMosquitto())('HA motion -> camera_proxy -> description -> HA events (real mosquitto)', () => {
  let broker: Mosquitto;
  let ha: HaServer;
  let app: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    ha = new HaServer({ token: TOKEN });
    await ha.start();
    ha.cameras.set('camera.front_door', await solidJpeg([0, 200, 0]));
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      homeassistant: { url: ha.url, token: TOKEN },
      cameras: {
        front_door: { camera_entity: 'camera.front_door', motion_entity: 'binary_sensor.front_door_motion', cooldown_s: 0 },
        back_yard: { camera_entity: 'camera.back_yard', motion_entity: 'binary_sensor.back_yard_motion', cooldown_s: 0 },
      },
      camera_defaults: { alert_off_s: 1 },
    });
    attachRouter(app.app.ctx, timedRouter(0, () => ({ summary: 'A courier holds a package at the door', description: 'A person in a brown uniform holds a box.', objects: ['person', 'package'], alert: true, severity: 'medium' })));
    await ha.waitUntil(() => ha.subscribers >= 1, 10_000, 'bridge subscription');
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await ha?.stop();
    await broker?.stop();
  });

  it('describes the camera when its motion entity turns on, and fires sarai_result and sarai_alert', async () => {
    ha.setState('binary_sensor.front_door_motion', 'on');
    const res = await probe.waitForTopic('sarai/camera/front_door/result', 10_000);
    expect(JSON.parse(res.payload.toString())).toMatchObject({ camera: 'front_door', source: 'homeassistant', event_type: 'person', alert: true, severity: 'medium' });
    expect(ha.proxyRequests).toContainEqual({ entity: 'camera.front_door', status: 200 });
    // sarai_alert in two phases with one event id: detected (the motion entity is the trigger), then described
    await ha.waitUntil(() => ha.firedEvents.filter((e) => e.event_type === 'sarai_alert').length >= 2, 5_000, 'sarai_alert twice');
    const alerts = ha.firedEvents.filter((e) => e.event_type === 'sarai_alert').map((e) => e.event_data as Record<string, unknown>);
    expect(alerts[0]).toMatchObject({ phase: 'detected', camera: 'front_door', source: 'homeassistant', alert: true, summary: '' });
    expect(alerts[1]).toMatchObject({ phase: 'described', event_id: alerts[0]?.['event_id'], summary: 'A courier holds a package at the door', alert: true });
    expect(alerts).toHaveLength(2);
    expect(ha.firedEvents.find((e) => e.event_type === 'sarai_result')?.event_data).toMatchObject({ camera: 'front_door', summary: 'A courier holds a package at the door', alert: true, event_id: alerts[0]?.['event_id'] });
    // the alert binary_sensor is ON, then OFF again after camera_defaults.alert_off_s
    await probe.waitForTopic('sarai/camera/front_door/alert', 5_000, (m) => m.payload.toString() === 'ON');
    await probe.waitForTopic('sarai/camera/front_door/alert', 5_000, (m) => m.payload.toString() === 'OFF');
  });

  it('reports a camera_proxy 404 on sarai/error and keeps working', async () => {
    probe.clear();
    ha.setState('binary_sensor.back_yard_motion', 'on');
    const err = await probe.waitForTopic('sarai/error', 10_000);
    expect(JSON.parse(err.payload.toString())).toMatchObject({ source: 'homeassistant', topic: 'homeassistant/camera_proxy/camera.back_yard', error: expect.stringContaining('404') });
    ha.cameras.set('camera.front_door', await patternJpeg(7)); // a new scene (the same one would be deduplicated)
    ha.setState('binary_sensor.front_door_motion', 'off');
    ha.setState('binary_sensor.front_door_motion', 'on');
    await probe.waitForTopic('sarai/camera/front_door/result', 10_000);
  });
});
