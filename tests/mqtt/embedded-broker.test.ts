import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { BrokerPortError } from '../../src/mqtt/embedded-broker.js';

describe('embedded broker (no mqtt.url)', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.stop();
  });

  it('starts aedes, connects to it, and a plain client sees online and discovery', async () => {
    const port = await freePort();
    const t = await startTestApp({ mqtt: { embedded: { host: '127.0.0.1', port } } });
    apps.push(t);
    expect(t.app.broker?.port).toBe(port);
    const probe = await MqttProbe.connect(`mqtt://127.0.0.1:${port}`, ['sarai/#', 'homeassistant/#']);
    const status = await probe.waitForTopic('sarai/status', 5_000);
    expect(status.payload.toString()).toBe('online');
    expect(status.retain).toBe(true);
    const disc = await probe.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 5_000);
    expect(disc.retain).toBe(true);
    await probe.close();
  });

  it('says plainly when the port is taken, and how to fix it', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as net.AddressInfo).port)));
    try {
      await expect(startTestApp({ mqtt: { embedded: { host: '127.0.0.1', port } } })).rejects.toThrow(BrokerPortError);
      const r = spawnSync(process.execPath, ['bin/sarai.js', 'run'], {
        encoding: 'utf8',
        env: { ...process.env, SARAI_CONFIG: '', SARAI__MQTT__EMBEDDED__PORT: String(port), SARAI__HTTP__PORT: '0', SARAI__HTTP__HOST: '127.0.0.1', SARAI__WYOMING__ENABLED: 'false', SARAI__DATA_DIR: '/tmp/sarai-port-test' },
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(r.stderr).toContain('set mqtt.url to');
      expect(r.stderr).toContain('SARAI__MQTT__EMBEDDED__PORT');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
