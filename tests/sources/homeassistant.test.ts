import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import WebSocket from 'ws';
import { createLogger } from '../../src/log/logger.js';
import { HaClient, HaCommandError, haUrls } from '../../src/sources/homeassistant/index.js';
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

/** A bare websocket session with the fixture: authenticates, then sends frames as given. */
async function rawSession(ha: HaServer): Promise<{ send: (m: unknown) => void; next: () => Promise<Record<string, unknown>>; close: () => void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${ha.port}/api/websocket`);
  const inbox: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Record<string, unknown> | Record<string, unknown>[];
    inbox.push(...(Array.isArray(m) ? m : [m]));
    wake?.();
  });
  const next = async () => {
    while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
    return inbox.shift() as Record<string, unknown>;
  };
  await new Promise((r) => ws.once('open', r));
  expect((await next())['type']).toBe('auth_required');
  ws.send(JSON.stringify({ type: 'auth', access_token: TOKEN }));
  expect((await next())['type']).toBe('auth_ok');
  return { send: (m) => ws.send(JSON.stringify(m)), next, close: () => ws.terminate() };
}

describe('the HA protocol fixture is as strict as HA', () => {
  let ha: HaServer;
  beforeAll(async () => {
    ha = new HaServer({ token: TOKEN });
    await ha.start();
  });
  afterAll(async () => ha.stop());

  it('refuses ids that do not increase (id_reuse), malformed ids, and unknown services', async () => {
    const s = await rawSession(ha);
    s.send({ id: 5, type: 'ping' });
    expect(await s.next()).toEqual({ id: 5, type: 'pong' });
    s.send({ id: 5, type: 'ping' });
    expect(await s.next()).toEqual({ id: 5, type: 'result', success: false, error: { code: 'id_reuse', message: 'Identifier values have to increase.' } });
    s.send({ id: 4, type: 'fire_event', event_type: 'x' });
    expect(await s.next()).toMatchObject({ id: 4, success: false, error: { code: 'id_reuse' } });
    s.send({ id: '6', type: 'ping' });
    expect(await s.next()).toMatchObject({ id: '6', success: false, error: { code: 'invalid_format', message: 'Message incorrectly formatted.' } });
    s.send({ id: 7, type: 'call_service', domain: 'light', service: 'nope' });
    expect(await s.next()).toEqual({
      id: 7, type: 'result', success: false,
      error: { code: 'not_found', message: 'Service light.nope not found.', translation_key: 'service_not_found', translation_placeholders: { domain: 'light', service: 'nope' }, translation_domain: 'homeassistant' },
    });
    s.send({ id: 8, type: 'get_panels_nope' });
    expect(await s.next()).toMatchObject({ id: 8, success: false, error: { code: 'unknown_command', message: 'Unknown command.' } });
    expect(ha.firedEvents).toEqual([]);
    s.close();
  });
});

describe('HaClient on home-assistant-js-websocket against the strict fixture', () => {
  let ha: HaServer;
  const clients: HaClient[] = [];
  const start = async (extra: Partial<ConstructorParameters<typeof HaClient>[0]> = {}) => {
    const c = new HaClient({ url: ha.url, token: TOKEN, log, reconnectMinMs: 50, reconnectMaxMs: 200, commandTimeoutMs: 10_000, ...extra });
    clients.push(c);
    c.start();
    await c.waitReady(10_000);
    return c;
  };
  beforeAll(async () => {
    ha = new HaServer({ token: TOKEN });
    await ha.start();
  });
  afterAll(async () => {
    for (const c of clients) await c.stop();
    await ha.stop();
  });

  it('keeps ids increasing across concurrent commands, subscriptions and a reconnect (no id_reuse)', async () => {
    const c = await start();
    const seen: string[] = [];
    await c.subscribeEvents('state_changed', (ev) => seen.push(String(ev.data['entity_id'])));
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? c.fireEvent('sarai_result', { i }) : c.command({ type: 'ping' }))));
    const attempts = ha.authAttempts.length;
    const port = ha.port;
    await ha.stop();
    await ha.start(port);
    await ha.waitUntil(() => ha.authAttempts.length > attempts && ha.subscribers === 1, 20_000, 'reconnect and resubscription');
    await c.waitReady(10_000);
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.fireEvent('sarai_alert', { i })));
    ha.setState('binary_sensor.hall', 'on');
    await expect.poll(() => seen, { timeout: 10_000 }).toContain('binary_sensor.hall');
    expect(ha.errorsSent).toEqual([]);
    expect(ha.firedEvents.filter((e) => e.event_type === 'sarai_alert')).toHaveLength(10);
  });

  it('rejects a call to an unknown service with HA\'s not_found, and the session goes on', async () => {
    const c = await start();
    const err = await c.callService('light', 'nope', {}, { entity_id: 'light.hall' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HaCommandError);
    expect(err).toMatchObject({ code: 'not_found', message: 'Home Assistant: not_found: Service light.nope not found.' });
    await expect(c.callService('notify', 'notify', { message: 'hi' })).resolves.toMatchObject({ context: { parent_id: null } });
    expect(ha.serviceCalls).toContainEqual({ domain: 'notify', service: 'notify', service_data: { message: 'hi' } });
  });

  it('ignores a result for an id it never asked, non-JSON and non-object frames, and stays usable', async () => {
    const c = await start();
    const before = ha.authAttempts.length;
    // an answer to nothing, one for a future id, junk, and an array holding junk
    ha.sendRaw({ id: 9_999, type: 'result', success: true, result: { surprise: true } });
    ha.sendRaw({ id: 424_242, type: 'result', success: false, error: { code: 'home_assistant_error', message: 'boom' } });
    ha.sendRaw('this is not JSON');
    ha.sendRaw([null, 5, 'x', { id: 777, type: 'pong' }]);
    ha.sendRaw({ id: 31_337, type: 'event', event: { event_type: 'state_changed', data: {} } });
    // the next commands still get their own answers
    await expect(c.callService('notify', 'notify', { message: 'after junk' })).resolves.toMatchObject({ context: expect.any(Object) });
    await expect(c.command({ type: 'ping' })).resolves.toBeUndefined();
    expect(c.connected).toBe(true);
    expect(ha.authAttempts.length).toBe(before); // the same session, not a reconnect
  });

  it('stop() ends a connect stuck in its handshake at once, not after the auth deadline', async () => {
    // a peer that accepts TCP and never answers the websocket upgrade
    const sockets: net.Socket[] = [];
    let closed = 0;
    const mute = net.createServer((sock) => {
      sockets.push(sock);
      sock.on('close', () => closed++).resume(); // reads (and ignores) the upgrade request
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    try {
      const c = new HaClient({ url: `http://127.0.0.1:${(mute.address() as net.AddressInfo).port}`, token: TOKEN, log, commandTimeoutMs: 60_000 });
      c.start();
      await expect.poll(() => sockets.length, { timeout: 10_000 }).toBe(1);
      const stopped = c.stop().then(() => 'stopped');
      const late = new Promise((r) => setTimeout(() => r('still waiting for the 60 s auth deadline'), 20_000).unref());
      await expect(Promise.race([stopped, late])).resolves.toBe('stopped');
      await expect.poll(() => closed, { timeout: 10_000 }).toBe(1); // the client hung up
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => mute.close(r));
    }
  });

  it('with a non-admin token, says once that fire_event needs an admin and stops trying', async () => {
    const port = ha.port;
    await ha.stop();
    const noAdmin = new HaServer({ token: TOKEN, admin: false });
    await noAdmin.start(port);
    const problems: string[] = [];
    const c = await start({ onProblem: (m) => problems.push(m) });
    await expect(c.fireEvent('sarai_result', { camera: 'x' })).resolves.toBeUndefined();
    await expect(c.fireEvent('sarai_alert', { camera: 'x' })).resolves.toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/fire_event \(unauthorized\).*administrator/);
    expect(noAdmin.errorsSent).toEqual([expect.objectContaining({ code: 'unauthorized' })]); // the second call did not reach HA
    await c.stop();
    await noAdmin.stop();
    await ha.start(port);
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
