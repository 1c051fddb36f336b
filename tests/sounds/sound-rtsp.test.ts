/**
 * Live sound events from a camera's RTSP audio: a real RTSP camera (GStreamer on loopback,
 * behind Basic auth), real ffmpeg reading its audio track in windows, real transformers.js on
 * the generated classifier, real mosquitto. The camera's stream is a 5 s recording played once
 * per client, so every session ends: that is the stream dropping, and the bridge must say so
 * and listen again.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraAlert, ErrorReport } from '../../src/core/results.js';
import { tempDir } from '../camera/helpers.js';
import { makeTinySoundClassifier } from '../fixtures/onnx/index.js';
import { childPids, makeClip, requireRtspServer, startTestCamera, type TestCamera } from '../fixtures/rtsp/camera.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';

const ready = requireProgram('ffmpeg') && requireRtspServer() && haveMosquitto();
const AUTH = { user: 'viewer', password: 'Sup3r-secret' };

describe.skipIf(!ready)('live sound events from RTSP audio (GStreamer camera, ffmpeg, transformers.js, mosquitto)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let camera: TestCamera;
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let soundsDir = '';

  beforeAll(async () => {
    tmp = await tempDir('sound-rtsp');
    const sounds = await makeTinySoundClassifier(path.join(tmp.dir, 'sounds'), { loudLabel: 'Smoke detector, smoke alarm' });
    soundsDir = sounds.dir;
    camera = await startTestCamera(makeClip(path.join(tmp.dir, 'camera.mp4'), { seconds: 5, width: 160, height: 120 }), AUTH);
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      models: { audio_events: { backend: 'transformers', model: sounds.dir } },
      runtime: { onnx_threads: 1 },
      audio_events: { window_s: 2, rtsp_retry_s: 1 },
      clip: { socket_timeout_s: 3 },
      cameras: {
        yard: { name: 'Yard', rtsp_url: camera.url('av', true), sounds: ['smoke_alarm'], sound_rtsp: true, cooldown_s: 0 },
        shed: { name: 'Shed', rtsp_url: camera.url('video', true), sounds: ['smoke_alarm'], sound_rtsp: true },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    expect(childPids('ffmpeg')).toEqual([]);
    await Promise.all([broker?.stop(), camera?.stop()]);
    await tmp?.cleanup();
  });

  const alerts = (cam: string): CameraAlert[] =>
    probe.messages.filter((m) => m.topic === 'sarai/alert').map((m) => JSON.parse(m.payload.toString()) as CameraAlert).filter((a) => a.camera === cam);
  const errors = (topic: string): ErrorReport[] =>
    probe.messages.filter((m) => m.topic === 'sarai/error').map((m) => JSON.parse(m.payload.toString()) as ErrorReport).filter((e) => e.topic === topic);

  it('hears the smoke alarm in the live audio: sarai_alert from rtsp and the sound event entity', async () => {
    const m = await probe.waitFor((x) => x.topic === 'sarai/alert' && (JSON.parse(x.payload.toString()) as CameraAlert).phase === 'described', 30_000, 'a described sound alert');
    const a = JSON.parse(m.payload.toString()) as CameraAlert;
    expect(a).toMatchObject({ camera: 'yard', source: 'rtsp', event_type: 'sound', label: 'smoke_alarm', alert: true, severity: 'high' });
    expect(a.sound?.model_label).toBe('Smoke detector, smoke alarm');
    expect(a.summary).toMatch(/^Yard: a smoke alarm heard/);
    const event = JSON.parse((await probe.waitForTopic('sarai/camera/yard/sound', 5_000)).payload.toString()) as Record<string, unknown>;
    expect(event).toMatchObject({ event_type: 'smoke_alarm', source: 'rtsp' });
  }, 40_000);

  it('the stream ending is reported on sarai/error, and the bridge listens again and hears it again', async () => {
    const drop = await probe.waitFor((m) => m.topic === 'sarai/error' && (JSON.parse(m.payload.toString()) as ErrorReport).topic === 'rtsp:yard', 30_000, 'the yard stream drop');
    const report = JSON.parse(drop.payload.toString()) as ErrorReport;
    expect(report.error).toMatch(/^camera yard: the RTSP audio from rtsp:\/\/.*127\.0\.0\.1.* ended; listening again in 1 s$/);
    const before = alerts('yard').length;
    await probe.waitFor(() => alerts('yard').length > before, 30_000, 'a sound alert after reopening');
  }, 70_000);

  it('a stream without an audio track says so on sarai/error (and keeps the password out of it)', async () => {
    await probe.waitFor((m) => m.topic === 'sarai/error' && (JSON.parse(m.payload.toString()) as ErrorReport).topic === 'rtsp:shed', 30_000, 'the shed error');
    const [first] = errors('rtsp:shed');
    expect(first?.error).toMatch(/^camera shed: RTSP audio from .* failed: the stream has no audio track \(cameras\.shed\.sound_rtsp needs a camera with a microphone\); listening again in 1 s$/);
    const all = probe.messages.filter((m) => m.topic === 'sarai/error').map((m) => m.payload.toString()).join('\n');
    expect(all).not.toContain(AUTH.password);
    expect(alerts('shed')).toEqual([]);
  }, 40_000);

  it('a broken audio_events model is reported once, not once per window, and the stream keeps being read', async () => {
    // a second bridge (base topic sarai2) whose audio_events folder does not exist
    const probe2 = await MqttProbe.connect(broker.url, ['sarai2/error']);
    const broken = await startTestApp({
      mqtt: { url: broker.url, base_topic: 'sarai2' },
      models: { audio_events: { backend: 'transformers', model: path.join(tmp.dir, 'missing') } },
      audio_events: { window_s: 1, rtsp_retry_s: 1 },
      clip: { socket_timeout_s: 3 },
      cameras: { barn: { rtsp_url: camera.url('av', true), sounds: ['smoke_alarm'], sound_rtsp: true } },
    });
    try {
      const reports = (): ErrorReport[] => probe2.messages.map((m) => JSON.parse(m.payload.toString()) as ErrorReport).filter((e) => e.topic === 'rtsp:barn');
      // two sessions of the 5 s stream: about 8 windows of 1 s, each failing
      await probe2.waitFor(() => reports().filter((e) => /ended/.test(e.error)).length >= 2, 40_000, 'two ended sessions');
      const modelErrors = reports().filter((e) => !/ended/.test(e.error));
      expect(modelErrors.length).toBeGreaterThanOrEqual(1);
      expect(modelErrors.length).toBeLessThanOrEqual(2);
      expect(modelErrors[0]?.error).toMatch(/audio_events: model folder .*missing does not exist/);
      expect(broken.logs.lines.filter((l) => l['msg'] === 'window not classified (same error as before)').length).toBeGreaterThanOrEqual(3);
    } finally {
      await broken.stop();
      await probe2.close();
    }
  }, 60_000);

  it('in a cluster group only the voice_streams worker listens: one config on two workers reads the stream once, not twice', async () => {
    const worker = (id: string, streams: boolean) => startTestApp({
      mqtt: { url: broker.url, base_topic: 'sarai3' },
      cluster: { group: 'house', worker_id: id, voice_streams: streams },
      models: { audio_events: { backend: 'transformers', model: soundsDir } },
      runtime: { onnx_threads: 1 },
      audio_events: { window_s: 2, rtsp_retry_s: 1 },
      cameras: { porch: { rtsp_url: camera.url('av', true), sounds: ['smoke_alarm'], sound_rtsp: true, cooldown_s: 0 } },
    });
    const [listener, other] = [await worker('w1', true), await worker('w2', false)];
    try {
      const windows = async (t: TestApp) => (await t.app.ctx.metrics.text()).split('\n').filter((l) => l.startsWith('sarai_sound_windows_total{') && l.includes('camera="porch"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
      const until = Date.now() + 30_000;
      while ((await windows(listener)) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(await windows(listener)).toBeGreaterThan(0);
      expect(await windows(other)).toBe(0);
      expect(other.logs.lines.some((l) => /cluster\.voice_streams worker listens to live camera audio, not this one/.test(String(l['msg'])))).toBe(true);
    } finally {
      await other.stop();
      await listener.stop();
    }
  }, 60_000);

  it('the yard stream runs as an ffmpeg child while listening (afterAll: none is left after stop)', async () => {
    const until = Date.now() + 10_000;
    while (childPids('ffmpeg').length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(childPids('ffmpeg').length).toBeGreaterThan(0);
  }, 15_000);
});
