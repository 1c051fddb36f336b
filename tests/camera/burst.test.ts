import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareImage } from '../../src/media/image.js';
import { schedulerFor } from '../../src/scheduler/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, timedRouter } from './helpers.js';

describe.skipIf(!haveMosquitto())('a burst of snapshots: coalescing, cooldown and dedup (real mosquitto)', () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let router: ReturnType<typeof timedRouter>;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/camera/+/result', 'sarai/camera/+/image', 'sarai/error']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      cameras: { drive: { cooldown_s: 0.3 } },
      camera_defaults: { cooldown_s: 0 },
      models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 256 } },
      scheduler: { concurrency: 2, dedup_distance: 4 },
    });
    router = timedRouter(80, (n) => ({ summary: `scene ${n}`, description: 'd', objects: [], alert: false, severity: 'none' }));
    attachRouter(app.app.ctx, router);
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  it('describes the newest of 40 rapid snapshots; every one is described, coalesced or deduplicated', async () => {
    const { scheduler } = schedulerFor(app.app.ctx);
    const before = { ...scheduler.counters.totals };
    const images = await Promise.all(Array.from({ length: 40 }, (_, i) => patternJpeg(1000 + i, 320, 240)));
    for (const img of images) await probe.publish('sarai/camera/drive/snapshot', img, { qos: 1 });
    await expect.poll(() => scheduler.counters.totals.queued - before.queued, { timeout: 10_000 }).toBe(40);
    await scheduler.idle();
    const t = scheduler.counters.totals;
    const d = (k: keyof typeof t) => t[k] - before[k];
    expect(d('completed') + d('coalesced') + d('deduplicated')).toBe(40);
    expect(d('completed')).toBeLessThan(15); // 80 ms model + 300 ms cooldown: most are coalesced
    expect(d('coalesced')).toBeGreaterThan(20);
    // the last image published is the last one described (latest wins)
    const expected = (await prepareImage(images[39] as Buffer, { maxSide: 256, maxBytes: 16 * 1_048_576 })).jpeg;
    await expect.poll(() => probe.messages.filter((m) => m.topic === 'sarai/camera/drive/image').at(-1)?.payload.equals(expected), { timeout: 5_000 }).toBe(true);
  });

  it('skips a near-identical scene (counted deduplicated) and describes a changed one', async () => {
    const { scheduler } = schedulerFor(app.app.ctx);
    const scene = await patternJpeg(2000, 320, 240);
    const sameScene = await patternJpeg(2000, 320, 240, 60); // re-encoded at another quality: same dHash
    const calls = router.calls;
    await probe.publish('sarai/camera/yard/snapshot', scene);
    await probe.waitForTopic('sarai/camera/yard/result', 10_000);
    const dedup = scheduler.counters.totals.deduplicated;
    await probe.publish('sarai/camera/yard/snapshot', sameScene);
    await expect.poll(() => scheduler.counters.totals.deduplicated, { timeout: 5_000 }).toBe(dedup + 1);
    expect(router.calls).toBe(calls + 1);
    await probe.publish('sarai/camera/yard/snapshot', await patternJpeg(2001, 320, 240));
    await expect.poll(() => router.calls, { timeout: 5_000 }).toBe(calls + 2);
    // the router call is not the end of the job: its stages are recorded after publishing
    await scheduler.idle();
  });

  it('shows the queue depth and counters in /metrics', async () => {
    // read /metrics only once every job has recorded its stages (not when the router returned)
    await schedulerFor(app.app.ctx).scheduler.idle();
    const text = await (await fetch(`http://127.0.0.1:${app.app.ctx.http.port}/metrics`)).text();
    expect(text).toMatch(/sarai_scheduler_coalesced_total\{kind="snapshot"\} [1-9]/);
    expect(text).toMatch(/sarai_scheduler_deduplicated_total\{kind="snapshot"\} [1-9]/);
    expect(text).toMatch(/sarai_queue_depth\{queue="snapshot"\} 0/);
    // one observation per described snapshot and stage; the timed model takes 80 ms
    const completed = schedulerFor(app.app.ctx).scheduler.counters.totals.completed;
    const stage = (name: string, what: 'sum' | 'count') => Number(new RegExp(`sarai_camera_stage_seconds_${what}\\{stage="${name}"\\} ([0-9.e-]+)`).exec(text)?.[1]);
    for (const s of ['wait', 'prepare', 'model', 'publish']) expect(stage(s, 'count')).toBe(completed);
    expect(stage('model', 'sum') / completed).toBeGreaterThanOrEqual(0.079);
    expect(stage('prepare', 'sum') / completed).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`sarai_camera_overhead_seconds_count ${completed}\\b`));
  });
});
