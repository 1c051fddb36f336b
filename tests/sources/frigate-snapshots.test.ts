import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../src/sources/frigate/snapshot-cache.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

describe('the Frigate live snapshot cache', () => {
  it('holds at most maxEntries and maxBytes, oldest out first, and forgets entries past the TTL', () => {
    const c = new SnapshotCache({ maxEntries: 4, maxBytes: 3_000, ttlMs: 1_000 });
    for (let i = 0; i < 120; i++) c.set(`cam${i}/person`, Buffer.alloc(1_000, i), 10_000 + i);
    expect(c.size).toBe(3); // bytes bind first here
    expect(c.bytes).toBe(3_000);
    expect(c.get('cam119/person', 10_200)?.bytes[0]).toBe(119);
    expect(c.get('cam0/person', 10_200)).toBeUndefined();
    for (let i = 0; i < 10; i++) c.set(`small${i}/car`, Buffer.alloc(10), 10_300);
    expect(c.size).toBe(4);
    // replacing a key does not count it twice
    c.set('small9/car', Buffer.alloc(500), 10_300);
    expect(c.bytes).toBe(3 * 10 + 500);
    // a snapshot larger than the whole budget is not kept
    c.set('huge/person', Buffer.alloc(3_001), 10_300);
    expect(c.get('huge/person', 10_300)).toBeUndefined();
    // past the TTL: gone from get and from the byte count after a sweep
    expect(c.get('small9/car', 11_301)).toBeUndefined();
    c.sweep(11_301);
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
  });
});

describe.skipIf(!haveMosquitto())('Frigate snapshots from many camera names', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    app = await startTestApp({ mqtt: { url: broker.url }, frigate: { enabled: true }, cameras: { front_door: {} } });
    probe = await MqttProbe.connect(broker.url, ['sarai/error'], 5);
  });
  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  it('accepts configured cameras and 16 unknown ones; each further name gets an error naming its topic', async () => {
    const jpeg = Buffer.alloc(64 * 1024, 1);
    await probe.publish('frigate/front_door/person/snapshot', jpeg);
    for (let i = 0; i < 40; i++) await probe.publish(`frigate/unknown_${i}/person/snapshot`, jpeg);
    await probe.publish('frigate/Bad Name/person/snapshot', jpeg);
    for (let i = 16; i < 40; i++) {
      const topic = `frigate/unknown_${i}/person/snapshot`;
      const m = await probe.waitFor((x) => (JSON.parse(x.payload.toString()) as { topic: string }).topic === topic, 20_000, topic);
      expect(JSON.parse(m.payload.toString())).toMatchObject({ source: 'frigate', error: expect.stringMatching(/not in cameras: and 16 unknown cameras/) });
    }
    await probe.waitFor((x) => (JSON.parse(x.payload.toString()) as { topic: string }).topic === 'frigate/Bad Name/person/snapshot', 20_000);
    const named = probe.messages.map((x) => (JSON.parse(x.payload.toString()) as { topic: string }).topic);
    expect(named).not.toContain('frigate/front_door/person/snapshot');
    for (let i = 0; i < 16; i++) expect(named).not.toContain(`frigate/unknown_${i}/person/snapshot`);
  });
});
