/**
 * Transport and secrets against real peers: mosquitto with a TLS listener that requires a
 * client certificate (CA and certificates made by openssl here) and a password file, the HA
 * protocol fixture with its token, and http.token. Then every place a secret could leak is
 * collected (logs at trace level, every MQTT message including sarai/error and
 * sarai/bridge/state, /metrics, /api/system, the UI files, HTTP error bodies) and searched
 * for the known secret values.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';
import { HaServer } from '../fixtures/ha-server.js';
import { Metrics } from '../../src/core/metrics.js';
import { createLogger } from '../../src/log/logger.js';
import { MqttBridge } from '../../src/mqtt/client.js';
import { LogSink, startTestApp, type TestApp } from '../helpers/app.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { haveMosquitto } from '../helpers/mosquitto.js';
import { requireProgram } from '../helpers/require-program.js';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js';

const MQTT_PASSWORD = 'mqtt-Pw-3c9e7d21';
const HA_TOKEN = 'llat-ha-token-8b2f44e0';
const HTTP_TOKEN = 'http-token-5a1d9c6f';
const WRONG_PASSWORD = 'wrong-mqtt-Pw-0e4b';
const SECRETS = [MQTT_PASSWORD, HA_TOKEN, HTTP_TOKEN, WRONG_PASSWORD];

describe.skipIf(!haveMosquitto() || !requireProgram('openssl'))('mqtts:// with a client certificate and a password; no secret leaks', () => {
  let pki: TestPki;
  let broker: BrokerProcess;
  let ha: HaServer;
  let app: TestApp;
  let refused: MqttBridge;
  const refusedLogs = new LogSink();
  let probe: MqttClient;
  const seen: { topic: string; payload: string }[] = [];
  const http: { what: string; body: string }[] = [];

  const tlsFiles = () => ({ ca: readFileSync(pki.ca), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });

  beforeAll(async () => {
    pki = makeTestPki();
    broker = await BrokerProcess.start({ users: { sarai: MQTT_PASSWORD, probe: 'probe-pass' }, tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, requireCertificate: true } });
    ha = new HaServer({ token: HA_TOKEN });
    await ha.start();
    probe = await mqtt.connectAsync(broker.url, { ...tlsFiles(), username: 'probe', password: 'probe-pass', protocolVersion: 5, reconnectPeriod: 0 });
    probe.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString('latin1') }));
    await probe.subscribeAsync('#', { qos: 1 });
    app = await startTestApp(
      {
        mqtt: { url: broker.url, username: 'sarai', password: MQTT_PASSWORD, ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey },
        http: { host: '127.0.0.1', port: 0, token: HTTP_TOKEN },
        homeassistant: { url: ha.url, token: HA_TOKEN },
        cameras: { porch: { camera_entity: 'camera.porch', motion_entity: 'binary_sensor.porch_motion', cooldown_s: 0 } },
      },
      { logLevel: 'trace', beforeStart: (a) => attachRouter(a.ctx, timedRouter(0, () => ({ summary: 'a quiet porch', description: 'd', objects: [], alert: false, severity: 'none' }))) },
    );
    // the same broker, a wrong password: refused, and its logs are searched too. A bare
    // MqttBridge: a whole app refused by the broker is issue 17's (not-authorized) case
    refused = new MqttBridge(
      { url: broker.url, username: 'sarai', password: WRONG_PASSWORD, baseTopic: 'refused', protocolVersion: 5, keepaliveS: 30, reconnectMaxMs: 2000, maxPayloadBytes: 1_048_576, tls: { ...tlsFiles(), rejectUnauthorized: true } },
      createLogger('trace', refusedLogs),
      new Metrics(),
    );
    await refused.connect();
  }, 60_000);

  afterAll(async () => {
    await refused?.close();
    await app?.stop();
    await probe?.endAsync(true);
    await ha?.stop();
    await broker?.stop();
    pki?.cleanup();
  });

  it('connects over TLS with the client certificate and password; a client without a certificate is refused', async () => {
    expect(app.app.ctx.mqtt.connected).toBe(true);
    await expect(mqtt.connectAsync(broker.url, { ca: readFileSync(pki.ca), username: 'probe', password: 'probe-pass', reconnectPeriod: 0, connectTimeout: 5_000 })).rejects.toThrow();
    await expect(mqtt.connectAsync(broker.url.replace('mqtts:', 'mqtt:'), { username: 'probe', password: 'probe-pass', reconnectPeriod: 0, connectTimeout: 5_000 })).rejects.toThrow();
    await expect.poll(() => refusedLogs.lines.some((l) => /Not authorized|Bad User Name or Password/i.test(JSON.stringify(l))), { timeout: 20_000 }).toBe(true);
    expect(refused.connected).toBe(false);
  });

  it('a missing ca_file is a configuration error naming the file', async () => {
    await expect(startTestApp({ mqtt: { url: broker.url, ca_file: '/nonexistent/ca.pem' } })).rejects.toThrow(/mqtt\.ca_file: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/);
  });

  it('no secret appears in logs, MQTT messages, /metrics, /api/system, the UI or error bodies', async () => {
    const base = `http://127.0.0.1:${app.app.ctx.http.port}`;
    const auth = { authorization: `Bearer ${HTTP_TOKEN}` };
    // exercise the paths that log and report: a bad snapshot, a good one, HA motion with a
    // missing camera (a 404 from camera_proxy), a question, HTTP with a wrong token
    await probe.publishAsync('sarai/camera/porch/snapshot', Buffer.from('not an image'), { qos: 1 });
    await probe.publishAsync('sarai/camera/porch/snapshot', await patternJpeg(42, 160, 120), { qos: 1 });
    await ha.waitUntil(() => ha.subscribers >= 1, 20_000, 'subscription');
    ha.setState('binary_sensor.porch_motion', 'on');
    await probe.publishAsync('sarai/ask', 'what is the password?', { qos: 1 });
    await expect.poll(() => seen.filter((m) => m.topic === 'sarai/error').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => seen.some((m) => m.topic === 'sarai/camera/porch/result'), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => seen.some((m) => m.topic === 'sarai/answer'), { timeout: 20_000 }).toBe(true);
    expect(seen.some((m) => m.topic === 'sarai/bridge/state')).toBe(true);

    for (const [what, url, headers] of [
      ['/metrics', '/metrics', {}],
      ['/api/system', '/api/system', auth],
      ['/api/events', '/api/events', auth],
      ['/', '/', auth],
      ['/ui/app.js', '/ui/app.js', auth],
      ['/ui/system.js', '/ui/system.js', auth],
      ['wrong token', '/api/system', { authorization: 'Bearer nope' }],
      ['no token', '/api/system', {}],
      ['token in a bad query', `/api/events?limit=x&token=${HTTP_TOKEN}x`, {}],
    ] as const) {
      const res = await fetch(base + url, { headers });
      http.push({ what, body: `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}` });
    }
    expect(http.find((h) => h.what === '/api/system')?.body).toMatch(/^200 /);

    const places = [
      ...app.logs.lines.map((l) => ({ where: 'log', text: JSON.stringify(l) })),
      ...refusedLogs.lines.map((l) => ({ where: 'log (refused)', text: JSON.stringify(l) })),
      ...seen.map((m) => ({ where: `mqtt ${m.topic}`, text: m.topic + m.payload })),
      ...http.map((h) => ({ where: `http ${h.what}`, text: h.body })),
      ...[...app.app.ctx.errors.recent].map((r) => ({ where: 'recent errors', text: JSON.stringify(r) })),
    ];
    expect(places.length).toBeGreaterThan(30); // the search covered real output, not an empty list
    const leaks = places.flatMap((p) => SECRETS.filter((s) => p.text.includes(s) || p.text.includes(encodeURIComponent(s))).map((s) => `${s} in ${p.where}: ${p.text.slice(0, 200)}`));
    expect(leaks).toEqual([]);
  }, 90_000);
});
