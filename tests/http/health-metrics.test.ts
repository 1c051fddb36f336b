import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

describe.skipIf(!haveMosquitto())('HTTP health and metrics', () => {
  let broker: Mosquitto;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await startTestApp({ mqtt: { url: broker.url, password: 'hunter2-secret', username: 'u' } });
    base = `http://127.0.0.1:${t.app.ctx.http.port}`;
  });
  afterAll(async () => {
    await t?.stop();
    await broker?.stop();
  });

  it('/healthz is 200 while connected and /metrics is Prometheus text', async () => {
    const h = await fetch(`${base}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: 'ok', mqtt: true });

    const probe = await MqttProbe.connect(broker.url, ['sarai/#'], 5);
    await probe.publish('homeassistant/status', 'online');
    await probe.waitForTopic('sarai/bridge/state', 5_000, (m) => !m.retain);
    await probe.close();

    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await m.text();
    expect(text).toMatch(/^sarai_messages_in_total\{kind="discovery"\} [1-9]/m);
    expect(text).toMatch(/^sarai_messages_out_total\{kind="[a-z]+"\} [1-9]/m);
    expect(text).toContain('sarai_errors_total');
    expect(text).toContain('sarai_queue_depth');
    expect(text).toMatch(/^sarai_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^sarai_mqtt_connected 1$/m);
  });

  it('unknown paths are 404 and wrong methods 405', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('never logs secrets', () => {
    const all = JSON.stringify(t.logs.lines);
    expect(all).not.toContain('hunter2-secret');
  });

  it('/healthz turns 503 when the broker goes away', async () => {
    await broker.stop();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await fetch(`${base}/healthz`)).status;
      if (status === 503) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(503);
  });
});
