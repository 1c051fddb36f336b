import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterOf } from '../../src/cluster/feature.js';
import { GroupLease } from '../../src/cluster/group-lease.js';
import type { Digest } from '../../src/digest/build.js';
import { DigestService, scheduledDigestGate } from '../../src/digest/service.js';
import { TimelineStore } from '../../src/publishers/timeline/store.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

describe('group lease', () => {
  it('is held by the lowest live worker id; moves when that one goes offline; nobody holds it while disconnected', () => {
    let connected = true;
    const w2 = new GroupLease('w2', () => connected);
    expect(w2.holds()).toBe(true); // alone
    w2.observe('w3', 'online');
    w2.observe('w1', 'online');
    expect(w2.holder()).toBe('w1');
    expect(w2.holds()).toBe(false);
    w2.observe('w1', 'offline');
    expect(w2.holds()).toBe(true);
    connected = false;
    expect(w2.holder()).toBeUndefined();
    expect(w2.holds()).toBe(false);
  });
});

async function waitUntil(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** 2026-03-10 19:59:59.500 local: half a second before a 20:00 digest, every time it is asked. */
const NOW = new Date(2026, 2, 10, 19, 59, 59, 500).getTime();

describe.skipIf(!haveMosquitto())('three workers in one group: one scheduled digest per group, requests shared (real mosquitto)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-digest-lease-'));
  let broker: Mosquitto;
  let probe: MqttProbe;
  let store: TimelineStore;
  const workers = new Map<string, TestApp>();
  const services = new Map<string, DigestService>();
  /** Scheduled and requested digests each worker published, by worker id. */
  const published = new Map<string, Digest[]>();

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#'], 5);
    store = new TimelineStore(dir, { days: 3650, maxBytes: 1e9 });
    for (const id of ['w2', 'w1', 'w3']) {
      // the app's own digest is off: each worker's DigestService gets the fixed clock instead
      const w = await startTestApp({ mqtt: { url: broker.url }, cluster: { group: 'house', worker_id: id }, digest: { enabled: false } });
      workers.set(id, w);
      published.set(id, []);
    }
    // every worker knows the whole group before the timers start
    for (const [id, w] of workers) {
      const lease = clusterOf(w.app.ctx)!.lease;
      await waitUntil(() => lease.holder() === 'w1', 10_000, `${id} sees w1 holding the lease`);
      expect(lease.holds()).toBe(id === 'w1');
    }
    for (const [id, w] of workers) {
      const mqtt = w.app.ctx.mqtt;
      const s = new DigestService({
        mqtt: {
          topic: (t) => mqtt.topic(t),
          subscribe: (...a) => mqtt.subscribe(...a),
          publish: (topic, payload, o) => {
            if (topic === mqtt.topic('digest')) published.get(id)!.push(JSON.parse(String(payload)) as Digest);
            return mqtt.publish(topic, payload, o);
          },
        },
        errors: w.app.ctx.errors, log: w.app.ctx.log, store: () => store,
        period: 'today', time: '20:00', now: () => NOW,
        holdsLease: scheduledDigestGate(w.app.ctx)!, // what digestFeature gives the app's own service
      });
      await s.start();
      services.set(id, s);
    }
  }, 60_000);

  afterAll(async () => {
    for (const s of services.values()) await s.stop();
    await probe?.close();
    for (const w of workers.values()) await w.stop();
    store?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const scheduled = (id: string) => published.get(id)!.filter((d) => !d.id.startsWith('req-'));

  it('a lone bridge has no gate (it always runs its digest); a worker\'s gate is its group lease', async () => {
    const lone = await startTestApp({ mqtt: { url: broker.url, base_topic: 'lone' } });
    try {
      expect(scheduledDigestGate(lone.app.ctx)).toBeUndefined();
    } finally {
      await lone.stop();
    }
    expect(scheduledDigestGate(workers.get('w1')!.app.ctx)!()).toBe(true);
    expect(scheduledDigestGate(workers.get('w3')!.app.ctx)!()).toBe(false);
  });

  it('only the lease holder (the lowest live id) runs the daily digest', async () => {
    // the fixed clock makes every worker's timer fire each half second: w1 publishes, w2 and w3 hold back
    await expect.poll(() => scheduled('w1').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    expect(scheduled('w2')).toEqual([]);
    expect(scheduled('w3')).toEqual([]);
    expect(scheduled('w1')[0]).toMatchObject({ period: 'today', text: 'No camera events today.', text_source: 'counts' });
  });

  it('on-demand requests stay shared: each one answered by exactly one worker', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `req-${i}`);
    for (const id of ids) await probe.publish('sarai/digest/request', JSON.stringify({ id }));
    const answered = () => [...published.values()].flat().filter((d) => d.id.startsWith('req-')).map((d) => d.id);
    await expect.poll(() => answered().length, { timeout: 20_000 }).toBe(ids.length);
    expect(new Set(answered())).toEqual(new Set(ids));
    // shared, not only the lease holder (mosquitto spreads $share messages over the group)
    const byWorker = [...published.entries()].map(([, ds]) => ds.filter((d) => d.id.startsWith('req-')).length);
    expect(byWorker.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('when the holder stops, the lease moves to the next id and that worker runs the daily digest', async () => {
    await services.get('w1')!.stop();
    services.delete('w1');
    await workers.get('w1')!.stop(); // publishes offline on its worker status, as its last will would
    workers.delete('w1');
    await expect.poll(() => clusterOf(workers.get('w3')!.app.ctx)!.lease.holder(), { timeout: 10_000 }).toBe('w2');
    expect(clusterOf(workers.get('w2')!.app.ctx)!.lease.holds()).toBe(true);
    await expect.poll(() => scheduled('w2').length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(scheduled('w3')).toEqual([]);
  });
});
