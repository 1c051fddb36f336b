import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';

const enabled = haveMosquitto();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-life-'));

/** Runs the real CLI (`sarai run`) as a child process, as a user would. */
function runBridge(configPath: string): ChildProcess {
  return spawn(process.execPath, ['bin/sarai.js', 'run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(!enabled)('bridge process against a real mosquitto', { timeout: 180_000 }, () => {
  let broker: Mosquitto;
  let probe: MqttProbe;
  let configPath: string;
  let httpPort: number;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    httpPort = await freePort();
    configPath = path.join(tmp, 'sarai.yaml');
    writeFileSync(
      configPath,
      [
        `data_dir: ${tmp}/data`,
        `models_dir: ${tmp}/models`,
        'mqtt:',
        `  url: ${broker.url}`,
        '  keepalive_s: 5',
        'http:',
        '  host: 127.0.0.1',
        `  port: ${httpPort}`,
        'wyoming:',
        '  enabled: false',
        'models: {}',
        '',
      ].join('\n'),
    );
    probe = await MqttProbe.connect(broker.url, ['sarai/#', 'homeassistant/#'], 5);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await probe?.close();
    await broker?.stop();
  });

  it('publishes online and its device discovery, and offline (last will) when killed with SIGKILL', async () => {
    // a stale config from an earlier run that this instance no longer produces
    await probe.publish(
      'homeassistant/device/sarai_sarai_camera_gone/config',
      JSON.stringify({ dev: { ids: ['sarai_sarai_camera_gone'], name: 'Gone' }, o: { name: 'SARAi Omni Bridge' }, cmps: {} }),
      { retain: true },
    );
    // someone else's device with a similar id must survive
    await probe.publish('homeassistant/device/sarai_sarai_other/config', JSON.stringify({ dev: { ids: ['x'] }, o: { name: 'Other' }, cmps: {} }), { retain: true });

    const child = runBridge(configPath);
    children.push(child);
    await probe.waitForTopic('sarai/status', 45_000, (m) => m.payload.toString() === 'online');
    const disc = await probe.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 30_000);
    expect(disc.retain).toBe(false); // live delivery; the retained flag is checked below
    const payload = JSON.parse(disc.payload.toString()) as { dev: { ids: string[] }; o: { name: string }; cmps: Record<string, { p: string; unique_id: string }> };
    expect(payload.dev.ids).toEqual(['sarai_sarai_bridge']);
    expect(payload.o.name).toBe('SARAi Omni Bridge');
    for (const key of ['status', 'version', 'uptime', 'loaded_models', 'last_error']) expect(payload.cmps[key]?.unique_id).toBe(`sarai_sarai_bridge_${key}`);
    const state = JSON.parse((await probe.waitForTopic('sarai/bridge/state', 30_000)).payload.toString()) as Record<string, unknown>;
    expect(state['status']).toBe('online');
    expect(state['version']).toMatch(/^\d+\.\d+\.\d+/);

    await probe.waitForTopic('homeassistant/device/sarai_sarai_camera_gone/config', 30_000, (m) => m.payload.length === 0);

    // retained copies as a newly starting Home Assistant would see them
    const late = await MqttProbe.connect(broker.url, ['sarai/status', 'homeassistant/device/+/config'], 5);
    await late.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 5_000, (m) => m.retain);
    expect(late.find((m) => m.topic === 'homeassistant/device/sarai_sarai_camera_gone/config' && m.payload.length > 0)).toBeUndefined();
    expect(late.find((m) => m.topic === 'homeassistant/device/sarai_sarai_other/config')?.payload.length).toBeGreaterThan(0);
    await late.close();

    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);

    probe.clear();
    child.kill('SIGKILL');
    const offline = await probe.waitForTopic('sarai/status', 30_000, (m) => m.payload.toString() === 'offline');
    expect(offline.payload.toString()).toBe('offline');
  });

  it('comes back online after a restart and re-announces discovery when HA says online', async () => {
    probe.clear();
    const child = runBridge(configPath);
    children.push(child);
    await probe.waitForTopic('sarai/status', 45_000, (m) => m.payload.toString() === 'online');
    await probe.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 30_000);

    probe.clear();
    await probe.publish('homeassistant/status', 'online');
    await probe.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 30_000);
    await probe.waitForTopic('sarai/bridge/state', 30_000);

    // an oversized payload is rejected on sarai/error and the bridge keeps going
    probe.clear();
    await probe.publish('homeassistant/status', Buffer.alloc(17 * 1_048_576, 1));
    const err = JSON.parse((await probe.waitForTopic('sarai/error', 30_000)).payload.toString()) as Record<string, string>;
    expect(err['source']).toBe('mqtt');
    expect(err['topic']).toBe('homeassistant/status');
    expect(err['error']).toMatch(/exceeds mqtt.max_payload_mb/);
    probe.clear();
    await probe.publish('homeassistant/status', 'online');
    await probe.waitForTopic('homeassistant/device/sarai_sarai_bridge/config', 30_000);

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await probe.waitForTopic('sarai/status', 30_000, (m) => m.payload.toString() === 'offline');
  });
});
