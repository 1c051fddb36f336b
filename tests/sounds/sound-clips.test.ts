/**
 * Sound events from clips, end to end: real mosquitto, the bridge, real ffmpeg extracting the
 * clip's audio, and real transformers.js running a generated classifier (audio_events) whose
 * loud label is "Glass" and whose scores for silence and quiet noise stay under the threshold
 * (see tests/fixtures/onnx/tiny-sound-classifier.ts). Frames are captioned by the tiny
 * captioner (vision role), so the clip's description is real too.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CameraAlert, ErrorReport } from '../../src/core/results.js';
import { soundListenerFor } from '../../src/sounds/index.js';
import { tempDir } from '../camera/helpers.js';
import { HaServer } from '../fixtures/ha-server.js';
import { makeTinyCaptioner, makeTinySoundClassifier } from '../fixtures/onnx/index.js';
import { readRetained } from '../camera/helpers.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';

const ready = requireProgram('ffmpeg') && haveMosquitto();

/** A 2 s Matroska clip (test pattern + PCM audio from a lavfi source), as a camera recorder writes. */
function clip(dir: string, name: string, audio: string | undefined): Buffer {
  const file = path.join(dir, `${name}.mkv`);
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=2'];
  if (audio) args.push('-f', 'lavfi', '-i', audio); // endless sources: -t 2 ends the file
  args.push('-c:v', 'mjpeg', '-q:v', '8');
  if (audio) args.push('-c:a', 'pcm_s16le', '-ar', '16000', '-ac', '1');
  args.push('-t', '2', file);
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  return readFileSync(file);
}

const alertsOf = (probe: MqttProbe, camera: string): CameraAlert[] =>
  probe.messages.filter((m) => m.topic === 'sarai/alert').map((m) => JSON.parse(m.payload.toString()) as CameraAlert).filter((a) => a.camera === camera);

describe.skipIf(!ready)('sound events from clips (mosquitto, ffmpeg, transformers.js audio classifier)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let ha: HaServer;
  const clips: Record<string, Buffer> = {};

  beforeAll(async () => {
    tmp = await tempDir('sound-clips');
    const [sounds, captioner] = await Promise.all([
      makeTinySoundClassifier(path.join(tmp.dir, 'sounds'), { loudLabel: 'Glass' }),
      makeTinyCaptioner(path.join(tmp.dir, 'captioner')),
    ]);
    clips['loud'] = clip(tmp.dir, 'loud', 'sine=frequency=440:sample_rate=16000'); // -21 dBFS
    clips['silence'] = clip(tmp.dir, 'silence', 'anullsrc=r=16000:cl=mono');
    clips['quiet'] = clip(tmp.dir, 'quiet', 'anoisesrc=color=white:amplitude=0.017:sample_rate=16000'); // about -40 dBFS
    clips['clipping'] = clip(tmp.dir, 'clipping', 'sine=frequency=440:sample_rate=16000,volume=30');
    clips['mute'] = clip(tmp.dir, 'mute', undefined);
    broker = await startMosquitto();
    ha = new HaServer({ token: 'ha-token' });
    await ha.start();
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      homeassistant: { url: ha.url, token: 'ha-token' },
      models: {
        vision: { backend: 'transformers', model: captioner.dir },
        audio_events: { backend: 'transformers', model: sounds.dir },
      },
      runtime: { onnx_threads: 1 },
      audio_events: { silence_dbfs: -60 },
      cameras: {
        garden: { name: 'Garden', sounds: ['glass', 'scream'], cooldown_s: 0 },
        // hall's motion entity only makes the bridge subscribe on the HA websocket (a sign it is connected)
        hall: { name: 'Hall', sounds: ['scream'], cooldown_s: 0, camera_entity: 'camera.hall', motion_entity: 'binary_sensor.hall_motion' },
        porch: { name: 'Porch', sounds: ['glass'], cooldown_s: 3600 },
      },
    });
    // sarai_alert reaches HA over its websocket once the bridge is connected and authenticated
    await ha.waitUntil(() => ha.subscribers >= 1, 10_000, 'bridge subscribed on the HA websocket');
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await ha?.stop();
    await broker?.stop();
    await tmp?.cleanup();
  });

  beforeEach(() => probe.clear());

  /** Resolves when `pred` holds for a log line written after `from` (the listener logs each listen at debug). */
  const logged = async (from: number, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!app.logs.lines.slice(from).some(pred)) {
      if (Date.now() > until) throw new Error('timed out waiting for a log line');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** Sends a clip; resolves with its own result once its audio has been listened to. */
  const sendClip = async (camera: string, name: string): Promise<Received> => {
    const fromMsg = probe.messages.length;
    const fromLog = app.logs.lines.length;
    await probe.publish(`sarai/camera/${camera}/clip`, clips[name] ?? Buffer.alloc(0));
    const result = await probe.waitFor((m) => m.topic === `sarai/camera/${camera}/result` && probe.messages.indexOf(m) >= fromMsg, 30_000, `result of ${name}`);
    await logged(fromLog, (l) => l['camera'] === camera && (l['msg'] === 'listened' || l['msg'] === 'clip has no audio track: no sound events from it'));
    return result;
  };

  it('announces the camera sound event entity with its sounds as event types', async () => {
    const prefix = app.app.ctx.discovery.idPrefix;
    const cfg = JSON.parse((await readRetained(broker.url, `homeassistant/device/${prefix}_camera_garden/config`)).toString()) as { cmps: Record<string, Record<string, unknown>> };
    expect(cfg.cmps['sound']).toMatchObject({ p: 'event', state_topic: 'sarai/camera/garden/sound', event_types: ['glass', 'scream'], unique_id: `${prefix}_camera_garden_sound` });
  });

  it('a loud clip: sarai_alert detected then described with the sound, and the sound event entity', async () => {
    await sendClip('garden', 'loud');
    const [detected, described] = alertsOf(probe, 'garden');
    expect(detected).toMatchObject({ phase: 'detected', event_type: 'sound', label: 'glass', source: 'clip', alert: true, severity: 'high', summary: '' });
    expect(detected?.sound).toMatchObject({ model_label: 'Glass', clipped: false });
    expect(detected?.sound?.score).toBeGreaterThan(0.9);
    expect(detected?.sound?.level_dbfs).toBeCloseTo(-21, 0);
    expect(described).toMatchObject({ phase: 'described', event_id: detected?.event_id, summary: expect.stringMatching(/^Garden: glass breaking heard \(Glass, 0\.9\d\)$/) as unknown });
    const event = JSON.parse((await probe.waitForTopic('sarai/camera/garden/sound')).payload.toString()) as Record<string, unknown>;
    expect(event).toMatchObject({ event_type: 'glass', event_id: detected?.event_id, model_label: 'Glass', alert: true });
    expect((await probe.waitForTopic('sarai/camera/garden/alert')).payload.toString()).toBe('ON');
    // the description of the frames still comes, from the vision role
    expect(probe.find((m) => m.topic === 'sarai/camera/garden/result')).toBeDefined();
    // and the sound is a timeline row (history questions, the dashboard): no snapshot
    const base = `http://127.0.0.1:${app.app.ctx.http.port}`;
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      const body = (await (await fetch(`${base}/api/events/${detected?.event_id ?? ''}`)).json()) as Record<string, unknown>;
      if (body['id'] === detected?.event_id) row = body;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(row).toMatchObject({ camera: 'garden', event_type: 'sound', objects: ['glass'], label: 'glass', alert: true, severity: 'high', source: 'clip', route: 'sound:clip', snapshot_url: null, summary: described?.summary });
    expect(String(row?.['model'])).toBe('sounds');
    // Home Assistant got both phases as sarai_alert events, with the sound
    await ha.waitUntil(() => ha.firedEvents.filter((e) => e.event_data['event_id'] === detected?.event_id).length >= 2, 10_000, 'sarai_alert in HA');
    const fired = ha.firedEvents.filter((e) => e.event_data['event_id'] === detected?.event_id);
    expect(fired.map((e) => [e.event_type, e.event_data['phase'], e.event_data['event_type'], e.event_data['label']])).toEqual([
      ['sarai_alert', 'detected', 'sound', 'glass'],
      ['sarai_alert', 'described', 'sound', 'glass'],
    ]);
    expect(fired[1]?.event_data['sound']).toMatchObject({ model_label: 'Glass' });
  }, 40_000);

  it('a sound the camera does not listen for raises nothing (hall listens for scream only)', async () => {
    await sendClip('hall', 'loud');
    expect(alertsOf(probe, 'hall')).toEqual([]);
    expect(probe.find((m) => m.topic === 'sarai/camera/hall/sound')).toBeUndefined();
  }, 40_000);

  it('silence never alarms and never reaches the model; quiet noise reaches it and stays under the threshold', async () => {
    const listener = soundListenerFor(app.app.ctx);
    await sendClip('garden', 'silence');
    await sendClip('garden', 'quiet');
    expect(alertsOf(probe, 'garden')).toEqual([]);
    // the same audio straight through the listener says why
    const silent = await listener.listen('garden', { sampleRate: 16_000, samples: new Float32Array(32_000) }, 'clip');
    expect(silent).toMatchObject({ windows: 1, silent: 1, findings: [] });
    const noise = Float32Array.from({ length: 32_000 }, (_, i) => 0.01 * Math.sin(i * 1.3) * Math.SQRT2); // rms 0.01, -40 dBFS
    const quiet = await listener.listen('garden', { sampleRate: 16_000, samples: noise }, 'clip');
    expect(quiet).toMatchObject({ windows: 1, silent: 0, findings: [] });
    expect(probe.messages.filter((m) => m.topic === 'sarai/error')).toEqual([]);
    // /metrics counts the windows: silence skipped, the quiet one classified
    const metrics = await (await fetch(`http://127.0.0.1:${app.app.ctx.http.port}/metrics`)).text();
    expect(metrics).toMatch(/sarai_sound_windows_total\{camera="garden",outcome="silent"\} [1-9]/);
    expect(metrics).toMatch(/sarai_sound_windows_total\{camera="garden",outcome="classified"\} [1-9]/);
    expect(metrics).toMatch(/sarai_sound_events_total\{camera="garden",sound="glass",outcome="announced"\} [1-9]/);
  }, 60_000);

  it('clipping audio is still classified and the event says the audio was clipping', async () => {
    await sendClip('garden', 'clipping');
    const [detected, described] = alertsOf(probe, 'garden');
    expect(detected?.sound).toMatchObject({ model_label: 'Glass', clipped: true });
    expect(described?.summary).toMatch(/the audio was clipping/);
  }, 40_000);

  it('a clip with no audio track: described as usual, no sound event, no error', async () => {
    const result = JSON.parse((await sendClip('garden', 'mute')).payload.toString()) as Record<string, unknown>;
    expect(String(result['route_reason'])).toMatch(/no audio track/);
    expect(alertsOf(probe, 'garden')).toEqual([]);
    expect(probe.messages.filter((m) => m.topic === 'sarai/error').map((m) => (JSON.parse(m.payload.toString()) as ErrorReport).error)).toEqual([]);
    expect(app.logs.lines.some((l) => l['msg'] === 'clip has no audio track: no sound events from it' && l['camera'] === 'garden')).toBe(true);
  }, 40_000);

  it('the camera cooldown holds back a repeat of the same sound (porch: 1 h)', async () => {
    const listener = soundListenerFor(app.app.ctx);
    const before = listener.alerts.suppressed;
    await sendClip('porch', 'loud');
    await sendClip('porch', 'loud');
    expect(alertsOf(probe, 'porch').map((a) => a.phase)).toEqual(['detected', 'described']);
    expect(listener.alerts.suppressed).toBe(before + 1);
  }, 60_000);
});
