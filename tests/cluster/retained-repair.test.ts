/**
 * The retained result converges on the newest input: when an older result from another worker
 * lands on the broker after this worker's newer one (two workers finished within one round
 * trip), this worker publishes its own bytes again. Real mosquitto; the other worker is played
 * by the probe publishing a result exactly as a worker would (same topic, retained, QoS 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, readRetained, timedRouter } from '../camera/helpers.js';

const TOPIC = 'sarai/camera/door/result';
const json = (m: Received | Buffer) => JSON.parse((Buffer.isBuffer(m) ? m : m.payload).toString()) as Record<string, unknown>;

describe.skipIf(!haveMosquitto())('a cluster worker repairs a retained result left older than its own', () => {
  let broker: Mosquitto;
  let probe: MqttProbe;
  let w: TestApp;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/camera/+/result'], 5);
    w = await startTestApp({
      mqtt: { url: broker.url },
      cluster: { group: 'house', worker_id: 'w1' },
      camera_defaults: { cooldown_s: 0 },
      models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 64 } },
    });
    attachRouter(w.app.ctx, timedRouter(1, (n) => ({ summary: `scene ${n}`, description: 'd', objects: [], alert: false, severity: 'low' })));
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await w?.stop();
    await broker?.stop();
  });

  const ours = async (ts: number): Promise<Received> => {
    await probe.client.publishAsync('sarai/camera/door/snapshot', await patternJpeg(ts % 100_000, 64, 48), { qos: 1, properties: { userProperties: { ts: String(ts) } } });
    return probe.waitForTopic(TOPIC, 10_000, (m) => !m.retain && json(m)['input_ts'] === new Date(ts).toISOString());
  };
  const other = (ts: number, worker: string) =>
    probe.client.publishAsync(TOPIC, JSON.stringify({ camera: 'door', summary: 'older', job_id: `door_${ts}`, input_ts: new Date(ts).toISOString(), worker, seq: 1 }), { qos: 1, retain: true });

  it('an older result from another worker after ours: ours is published again, byte for byte', async () => {
    const t = Date.now();
    const mine = await ours(t);
    const before = probe.messages.length;
    await other(t - 50, 'w2');
    const again = await probe.waitFor((m) => probe.messages.indexOf(m) >= before && m.topic === TOPIC && json(m)['worker'] === 'w1', 10_000, 'the repair');
    expect(again.payload.equals(mine.payload)).toBe(true);
    expect(json(await readRetained(broker.url, TOPIC))['input_ts']).toBe(new Date(t).toISOString());
  }, 30_000);

  it('an older result when another worker holds the newest: nothing is re-published', async () => {
    const t = Date.now();
    await ours(t);
    await other(t + 100, 'w2'); // w2 now holds the newest
    await probe.waitFor((m) => m.topic === TOPIC && json(m)['input_ts'] === new Date(t + 100).toISOString(), 10_000, 'w2 newest');
    const before = probe.messages.length;
    await other(t - 50, 'w3'); // older than both
    // a marker after it: anything w1 re-published in reaction would arrive before the marker's echo
    await other(t + 200, 'w2');
    await probe.waitFor((m) => m.topic === TOPIC && json(m)['input_ts'] === new Date(t + 200).toISOString(), 10_000, 'marker');
    expect(probe.messages.slice(before).filter((m) => m.topic === TOPIC && json(m)['worker'] === 'w1')).toEqual([]);
  }, 30_000);
});
