import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GenerateResult } from '../../src/backends/types.js';
import { submitSnapshot } from '../../src/camera/snapshot-intake.js';
import type { CameraAlert } from '../../src/core/results.js';
import type { ModelRouter, Routed } from '../../src/router/types.js';
import { schedulerFor } from '../../src/scheduler/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, solidJpeg, timedRouter } from './helpers.js';

/**
 * A router whose model answers only when the test opens the gate (or fails when told to):
 * the test sees what is published BEFORE the model answers, without timing guesses.
 */
function gatedRouter(): ModelRouter & { open(answer: Record<string, unknown> | Error): void; waiting: number } {
  const base = timedRouter(0, () => ({}));
  const gates: ((a: Record<string, unknown> | Error) => void)[] = [];
  const r = {
    ...base,
    get waiting() {
      return gates.length;
    },
    open(answer: Record<string, unknown> | Error) {
      gates.shift()?.(answer);
    },
    async describe(req: Parameters<ModelRouter['describe']>[0]): Promise<Routed<GenerateResult>> {
      // like a real backend, a stopping bridge's abort ends the wait
      const answer = await new Promise<Record<string, unknown> | Error>((res) => {
        gates.push(res);
        if (req.signal?.aborted) res(new Error('aborted'));
        req.signal?.addEventListener('abort', () => res(new Error('aborted')), { once: true });
      });
      if (answer instanceof Error) throw answer;
      return { value: { text: JSON.stringify(answer), json: answer, model: 'gated', tokens: 1, latencyMs: 5 }, route: 'vision', reason: 'test', model: 'gated', latencyMs: 5 };
    },
  };
  return r;
}

const alertsOf = (probe: MqttProbe, camera: string): CameraAlert[] =>
  probe.messages.filter((m) => m.topic === 'sarai/alert').map((m) => JSON.parse(m.payload.toString()) as CameraAlert).filter((a) => a.camera === camera);
const isAlert = (camera: string, phase: CameraAlert['phase']) => (m: Received) => {
  if (m.topic !== 'sarai/alert') return false;
  const a = JSON.parse(m.payload.toString()) as CameraAlert;
  return a.camera === camera && a.phase === phase;
};

describe.skipIf(!haveMosquitto())('two-phase camera alerts: detected at once, described with the same event id (real mosquitto)', () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let router: ReturnType<typeof gatedRouter>;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/alert', 'sarai/camera/#', 'sarai/error']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      cameras: { porch: { cooldown_s: 0, alert_labels: ['person'] }, cool: { cooldown_s: 3600 } },
      camera_defaults: { cooldown_s: 0, alert_off_s: 600 },
      models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 128 } },
    });
    router = gatedRouter();
    attachRouter(app.app.ctx, router);
  }, 30_000);

  beforeEach(async () => {
    // each test starts with no job running or waiting
    const { scheduler } = schedulerFor(app.app.ctx);
    await expect.poll(() => {
      router.open(new Error('test reset'));
      return scheduler.active + scheduler.depth;
    }, { timeout: 20_000 }).toBe(0);
    probe.clear();
  });

  afterAll(async () => {
    while (router?.waiting > 0) router.open(new Error('test end'));
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  it('publishes detected and the raw image before the model answers, then described with the same id', async () => {
    const jpeg = await patternJpeg(11, 320, 240);
    await probe.publish('sarai/camera/front/snapshot', jpeg);
    const detected = JSON.parse((await probe.waitFor(isAlert('front', 'detected'), 20_000)).payload.toString()) as CameraAlert;
    const image = await probe.waitForTopic('sarai/camera/front/image', 20_000);
    // the model has not answered: nothing described, no result yet
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    expect(probe.find((m) => m.topic === 'sarai/camera/front/result')).toBeUndefined();
    expect(image.payload.equals(jpeg)).toBe(true);
    expect(detected).toMatchObject({ phase: 'detected', camera: 'front', source: 'mqtt', summary: '', alert: false, event_type: 'other' });
    expect(detected.event_id).toMatch(/^[a-z0-9]+_[0-9a-f]{10}$/);

    router.open({ summary: 'A courier leaves a parcel.', description: 'd', objects: ['person', 'parcel'], alert: true, severity: 'medium' });
    const described = JSON.parse((await probe.waitFor(isAlert('front', 'described'), 20_000)).payload.toString()) as CameraAlert;
    expect(described).toMatchObject({ event_id: detected.event_id, phase: 'described', summary: 'A courier leaves a parcel.', severity: 'medium', alert: true, event_type: 'person' });
    expect(described.fallback).toBeUndefined();
    const result = JSON.parse((await probe.waitForTopic('sarai/camera/front/result')).payload.toString()) as Record<string, unknown>;
    expect(result).toMatchObject({ event_id: detected.event_id, id: described.result_id });
  });

  it('turns the alert ON at detected when the source label (Frigate person) meets the alert rules', async () => {
    const jpeg = await patternJpeg(12, 320, 240);
    expect(submitSnapshot(app.app.ctx, { camera: 'porch', bytes: jpeg, meta: { source: 'frigate', label: 'person', zones: [], frigateEventId: 'f1' }, origin: 'frigate/events' })).toBe('queued');
    const detected = JSON.parse((await probe.waitFor(isAlert('porch', 'detected'), 20_000)).payload.toString()) as CameraAlert;
    expect(detected).toMatchObject({ alert: true, event_type: 'person', label: 'person', frigate_event_id: 'f1', source: 'frigate' });
    await probe.waitFor((m) => m.topic === 'sarai/camera/porch/alert' && m.payload.toString() === 'ON', 20_000, 'alert ON');
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    expect(probe.find((m) => m.topic === 'sarai/camera/porch/result')).toBeUndefined();
    // the model does not call it an alert: the event that alerted at detected still alerts when described
    router.open({ summary: 'Someone at the door.', description: 'd', objects: [], alert: false, severity: 'none' });
    const described = JSON.parse((await probe.waitFor(isAlert('porch', 'described'), 20_000)).payload.toString()) as CameraAlert;
    expect(described).toMatchObject({ event_id: detected.event_id, alert: true, summary: 'Someone at the door.' });
    expect(described.severity).not.toBe('none');
  });

  it('an HA motion trigger alerts at detected, and its described phase keeps the alert when the model sees nothing', async () => {
    expect(submitSnapshot(app.app.ctx, { camera: 'yard', bytes: await patternJpeg(14, 320, 240), meta: { source: 'homeassistant' }, origin: 'homeassistant/camera_proxy/camera.yard' })).toBe('queued');
    const detected = JSON.parse((await probe.waitFor(isAlert('yard', 'detected'), 20_000)).payload.toString()) as CameraAlert;
    expect(detected).toMatchObject({ alert: true, source: 'homeassistant', event_type: 'other' });
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    router.open({ summary: 'An empty lawn.', description: 'd', objects: [], alert: false, severity: 'none' });
    const described = JSON.parse((await probe.waitFor(isAlert('yard', 'described'), 20_000)).payload.toString()) as CameraAlert;
    expect(described).toMatchObject({ event_id: detected.event_id, alert: true, severity: detected.severity, summary: 'An empty lawn.' });
    // the result itself is the model's verdict
    const result = JSON.parse((await probe.waitForTopic('sarai/camera/yard/result')).payload.toString()) as Record<string, unknown>;
    expect(result).toMatchObject({ alert: false, event_id: detected.event_id });
  });

  it('describes with a fallback text that says so when the model fails', async () => {
    await probe.publish('sarai/camera/side/snapshot', await patternJpeg(13, 320, 240));
    const detected = JSON.parse((await probe.waitFor(isAlert('side', 'detected'), 20_000)).payload.toString()) as CameraAlert;
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    router.open(new Error('the model timed out after 60 s'));
    const described = JSON.parse((await probe.waitFor(isAlert('side', 'described'), 20_000)).payload.toString()) as CameraAlert;
    expect(described).toMatchObject({ event_id: detected.event_id, fallback: true });
    expect(described.summary).toContain('the model did not answer');
    expect(described.summary).toContain('timed out');
    // the failure is also on sarai/error, and the camera keeps working
    await probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes('timed out'), 20_000);
  });

  it('refuses a bad camera id or a non-image before any phase; a PNG is detected without the image entity', async () => {
    expect(submitSnapshot(app.app.ctx, { camera: '../etc', bytes: await patternJpeg(15, 64, 48), meta: { source: 'mqtt' }, origin: 'test' })).toBe('rejected');
    expect(submitSnapshot(app.app.ctx, { camera: 'pngcam', bytes: Buffer.from('not an image'), meta: { source: 'mqtt' }, origin: 'test' })).toBe('rejected');
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 1, g: 200, b: 3 } } }).png().toBuffer();
    expect(submitSnapshot(app.app.ctx, { camera: 'pngcam', bytes: png, meta: { source: 'mqtt' }, origin: 'test' })).toBe('queued');
    await probe.waitFor(isAlert('pngcam', 'detected'), 20_000);
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    // the image entity is JPEG: a PNG's picture comes converted, with the result
    expect(probe.find((m) => m.topic === 'sarai/camera/pngcam/image')).toBeUndefined();
    router.open({ summary: 'Green.', description: 'd', objects: [], alert: false, severity: 'none' });
    await probe.waitFor(isAlert('pngcam', 'described'), 20_000);
    const img = await probe.waitForTopic('sarai/camera/pngcam/image', 20_000);
    expect(img.payload.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    // only the PNG made phases
    expect(probe.messages.filter((m) => m.topic === 'sarai/alert').map((m) => (JSON.parse(m.payload.toString()) as CameraAlert).camera)).toEqual(['pngcam', 'pngcam']);
  });

  it('describes a JPEG that cannot be decoded with a fallback, without calling the model', async () => {
    const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2_000, 7)]);
    await probe.publish('sarai/camera/broken/snapshot', broken);
    const detected = JSON.parse((await probe.waitFor(isAlert('broken', 'detected'), 20_000)).payload.toString()) as CameraAlert;
    const described = JSON.parse((await probe.waitFor(isAlert('broken', 'described'), 20_000)).payload.toString()) as CameraAlert;
    expect(described).toMatchObject({ event_id: detected.event_id, fallback: true });
    expect(described.summary).toContain('the image could not be read');
    expect(router.waiting).toBe(0);
  });

  it('snapshots that arrive while an event waits join it: one detected and one described per job', async () => {
    const images = await Promise.all([21, 22, 23, 24].map((s) => patternJpeg(s, 320, 240)));
    await probe.publish('sarai/camera/drive/snapshot', images[0] as Buffer, { qos: 1 });
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1); // job 1 runs, held at the model
    for (const img of images.slice(1)) await probe.publish('sarai/camera/drive/snapshot', img, { qos: 1 });
    const { scheduler } = schedulerFor(app.app.ctx);
    await expect.poll(() => alertsOf(probe, 'drive').filter((a) => a.phase === 'detected').length, { timeout: 20_000 }).toBe(2);
    await expect.poll(() => scheduler.depth, { timeout: 20_000 }).toBe(1); // the three later ones coalesced into one job
    router.open({ summary: 'first', description: 'd', objects: [], alert: false, severity: 'none' });
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    router.open({ summary: 'second', description: 'd', objects: [], alert: false, severity: 'none' });
    await expect.poll(() => alertsOf(probe, 'drive').filter((a) => a.phase === 'described').length, { timeout: 20_000 }).toBe(2);
    const all = alertsOf(probe, 'drive');
    const [d1, d2] = all.filter((a) => a.phase === 'detected');
    expect(all.filter((a) => a.phase === 'described').map((a) => [a.event_id, a.summary])).toEqual([[d1?.event_id, 'first'], [d2?.event_id, 'second']]);
  });

  it('describes a repeated scene with the last summary, marked as a fallback', async () => {
    const scene = await solidJpeg([200, 40, 40], { width: 160, height: 120 });
    await probe.publish('sarai/camera/gate/snapshot', scene);
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    router.open({ summary: 'A red wall.', description: 'd', objects: [], alert: false, severity: 'none' });
    await probe.waitFor(isAlert('gate', 'described'), 20_000);
    probe.clear();
    await probe.publish('sarai/camera/gate/snapshot', scene);
    const described = JSON.parse((await probe.waitFor(isAlert('gate', 'described'), 20_000)).payload.toString()) as CameraAlert;
    expect(described).toMatchObject({ fallback: true });
    expect(described.summary).toContain('same scene as the last description: A red wall.');
    expect(router.waiting).toBe(0);
  });

  it('inside the camera cooldown, holds detected back until the job starts', async () => {
    await probe.publish('sarai/camera/cool/snapshot', await patternJpeg(31, 320, 240));
    await expect.poll(() => router.waiting, { timeout: 20_000 }).toBe(1);
    router.open({ summary: 'one', description: 'd', objects: [], alert: false, severity: 'none' });
    await probe.waitFor(isAlert('cool', 'described'), 20_000);
    // the second snapshot waits an hour of cooldown: it is queued, but no phone rings yet
    await probe.publish('sarai/camera/cool/snapshot', await patternJpeg(32, 320, 240), { qos: 1 });
    const { scheduler } = schedulerFor(app.app.ctx);
    await expect.poll(() => scheduler.depth, { timeout: 20_000 }).toBe(1);
    await probe.publish('sarai/camera/front/snapshot', await patternJpeg(33, 320, 240), { qos: 1 });
    await probe.waitFor(isAlert('front', 'detected'), 20_000); // published after cool's intake, on the same connection
    expect(alertsOf(probe, 'cool').filter((a) => a.phase === 'detected')).toHaveLength(1);
    while (router.waiting > 0) router.open(new Error('done'));
  });
});
