/**
 * RTSP clips end to end: a real RTSP camera (GStreamer on loopback), real mosquitto, the
 * bridge with the real router and openai backend, and a local server speaking the
 * OpenAI chat-completions protocol in the place of llama-server + Qwen2.5-Omni.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CameraResult, ErrorReport } from '../../src/core/results.js';
import { tempDir } from '../camera/helpers.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { childPids, makeClip, requireRtspServer, startBadServer, startTestCamera, type BadServer, type TestCamera } from '../fixtures/rtsp/camera.js';
import { schedulerFor } from '../../src/scheduler/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';

const ready = requireProgram('ffmpeg') && requireRtspServer() && haveMosquitto();
const AUTH = { user: 'viewer', password: 'Sup3r-secret' };
const ANSWER = { summary: 'A car drives past while a tone sounds.', description: 'Over two seconds a test pattern moves; a steady 440 Hz tone plays.', objects: ['car'], alert: false, severity: 'low' };
const CLIP = { frame_size: 320, frame_rate: 2, max_frames: 8, socket_timeout_s: 2, timeout_margin_s: 8 };

interface Part {
  type: string;
  text?: string;
  image_url?: { url: string };
  input_audio?: { data: string; format: string };
}

/** The content parts of the last user message of a chat request. */
function userParts(body: Record<string, unknown>): Part[] {
  const messages = body['messages'] as { role: string; content: string | Part[] }[];
  const last = messages.at(-1);
  expect(last?.role).toBe('user');
  return Array.isArray(last?.content) ? last.content : [];
}

/** WAV header fields and duration (s) of a base64 WAV. */
function wavInfo(b64: string): { rate: number; channels: number; bits: number; seconds: number } {
  const wav = Buffer.from(b64, 'base64');
  expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
  expect(wav.toString('latin1', 8, 12)).toBe('WAVE');
  const channels = wav.readUInt16LE(22);
  const rate = wav.readUInt32LE(24);
  const bits = wav.readUInt16LE(34);
  let pos = 12;
  let dataBytes = 0;
  while (pos + 8 <= wav.length) {
    const id = wav.toString('latin1', pos, pos + 4);
    const size = wav.readUInt32LE(pos + 4);
    if (id === 'data') dataBytes = size;
    pos += 8 + size + (size % 2);
  }
  return { rate, channels, bits, seconds: dataBytes / (rate * channels * (bits / 8)) };
}

async function frameSizes(parts: Part[]): Promise<string[]> {
  const images = parts.filter((p) => p.type === 'image_url').map((p) => p.image_url?.url ?? '');
  return Promise.all(
    images.map(async (url) => {
      expect(url.startsWith('data:image/jpeg;base64,')).toBe(true);
      const meta = await sharp(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')).metadata();
      return `${meta.format} ${meta.width}x${meta.height}`;
    }),
  );
}

describe.skipIf(!ready)('sarai/camera/<id>/clip end to end (RTSP camera, mosquitto, router, OpenAI-compatible omni)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let camera: TestCamera;
  let silent: BadServer;
  let garbage: BadServer;
  let broker: Mosquitto;
  let omni: OpenAIServer;
  let app: TestApp;
  let probe: MqttProbe;
  let mp4: Buffer;

  beforeAll(async () => {
    tmp = await tempDir('clip-e2e');
    camera = await startTestCamera(makeClip(path.join(tmp.dir, 'camera.mp4'), { seconds: 12 }), AUTH);
    mp4 = readFileSync(makeClip(path.join(tmp.dir, 'upload.mp4'), { seconds: 4 }));
    [silent, garbage, broker, omni] = await Promise.all([startBadServer('silent'), startBadServer('garbage'), startMosquitto(), OpenAIServer.start({ reply: JSON.stringify(ANSWER) })]);
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      models: { omni: { backend: 'openai', url: omni.url, model: 'Qwen2.5-Omni-7B', name: 'Qwen2.5-Omni-7B', image_size: 512 } },
      cameras: {
        front_door: { name: 'Front door', rtsp_url: camera.url('av'), clip_seconds: 2 },
        garage: { name: 'Garage', rtsp_url: camera.url('video') },
        refused: { rtsp_url: 'rtsp://viewer:Sup3r-secret@127.0.0.1:1/av' },
        silent: { rtsp_url: `rtsp://viewer:Sup3r-secret@127.0.0.1:${silent.port}/av` },
        garbage: { rtsp_url: `rtsp://viewer:Sup3r-secret@127.0.0.1:${garbage.port}/av` },
        no_url: { name: 'No URL' },
      },
      clip: CLIP,
    });
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    expect(childPids('ffmpeg')).toEqual([]);
    await Promise.all([omni?.close(), broker?.stop(), silent?.close(), garbage?.close(), camera?.stop()]);
    await tmp?.cleanup();
  });

  beforeEach(() => probe.clear());
  afterEach(() => expect(childPids('ffmpeg')).toEqual([]));

  const chats = () => omni.chatBodies().length;
  const nextError = (topic: string, timeoutMs = 10_000) =>
    probe
      .waitFor((m) => m.topic === 'sarai/error' && (JSON.parse(m.payload.toString()) as ErrorReport).topic === topic, timeoutMs, `sarai/error for ${topic}`)
      .then((m) => JSON.parse(m.payload.toString()) as ErrorReport);
  const nextResult = async (camera: string, timeoutMs = 20_000) =>
    JSON.parse((await probe.waitForTopic(`sarai/camera/${camera}/result`, timeoutMs)).payload.toString()) as Record<string, unknown>;

  it('{"seconds": 2} captures from the configured camera and sends 4 frames + 2 s of 16 kHz WAV to the omni model', async () => {
    const before = chats();
    await probe.publish('sarai/camera/front_door/clip', JSON.stringify({ seconds: 2 }));
    const result = await nextResult('front_door');
    expect(result).toMatchObject({ camera: 'front_door', source: 'clip', route: 'clip:omni', model: 'Qwen2.5-Omni-7B', summary: ANSWER.summary, objects: ['car'], event_type: 'vehicle' });
    expect(String(result['route_reason'])).toMatch(/^4 frames \+ 2\.0 s audio: /);

    expect(chats()).toBe(before + 1);
    const body = omni.chatBodies().at(-1) ?? {};
    expect(body['model']).toBe('Qwen2.5-Omni-7B');
    expect(body['response_format']).toMatchObject({ type: 'json_schema' });
    const parts = userParts(body);
    expect(await frameSizes(parts)).toEqual(Array(4).fill('jpeg 320x240'));
    const audio = parts.filter((p) => p.type === 'input_audio');
    expect(audio).toHaveLength(1);
    expect(audio[0]?.input_audio?.format).toBe('wav');
    const wav = wavInfo(audio[0]?.input_audio?.data ?? '');
    expect([wav.rate, wav.channels, wav.bits]).toEqual([16_000, 1, 16]);
    expect(wav.seconds).toBeGreaterThan(1.9);
    expect(wav.seconds).toBeLessThan(2.1);
    const text = parts.find((p) => p.type === 'text')?.text ?? '';
    expect(text).toContain('The 4 images are frames of a 2.0 s video clip from the camera "Front door"');
    expect(text).toContain('attached as audio');
    // the key frame went to the image entity and stays in the timeline with the result
    const img = await probe.waitForTopic('sarai/camera/front_door/image');
    expect((await sharp(img.payload).metadata()).width).toBe(320);
    const base = `http://127.0.0.1:${app.app.ctx.http.port}`;
    const event = (await (await fetch(`${base}/api/events/${String(result['id'])}`)).json()) as Record<string, unknown>;
    expect(event).toMatchObject({ id: result['id'], route: 'clip:omni', source: 'clip' });
    const kept = Buffer.from(await (await fetch(`${base}/${String(event['snapshot_url'])}`)).arrayBuffer());
    expect(kept.equals(img.payload)).toBe(true);
  });

  it('MP4 bytes on the clip topic are extracted: 8 frames + 4 s of audio', async () => {
    await probe.publish('sarai/camera/front_door/clip', mp4);
    const result = await nextResult('front_door');
    expect(result).toMatchObject({ route: 'clip:omni', source: 'clip' });
    expect(String(result['route_reason'])).toMatch(/^8 frames \+ 4\.0 s audio/);
    const parts = userParts(omni.chatBodies().at(-1) ?? {});
    expect(await frameSizes(parts)).toEqual(Array(8).fill('jpeg 320x240'));
    expect(wavInfo(parts.find((p) => p.type === 'input_audio')?.input_audio?.data ?? '').seconds).toBeCloseTo(4, 1);
  });

  it('a camera without a microphone gives frames only, and the result says so', async () => {
    await probe.publish('sarai/camera/garage/clip', JSON.stringify({ seconds: 1 }));
    const result = await nextResult('garage');
    expect(String(result['route_reason'])).toMatch(/^2 frames \(clip has no audio track\)/);
    const parts = userParts(omni.chatBodies().at(-1) ?? {});
    expect(parts.filter((p) => p.type === 'image_url')).toHaveLength(2);
    expect(parts.some((p) => p.type === 'input_audio')).toBe(false);
  });

  it.each([
    ['{"seconds": 0}', /"seconds" must be more than 0 and at most 60, got 0/],
    ['{"seconds": -1}', /"seconds" must be more than 0 and at most 60, got -1/],
    ['{"seconds": 1e9}', /"seconds" must be more than 0 and at most 60, got 1000000000/],
    ['{"seconds": "3"}', /"seconds" must be a number of seconds, got "3"/],
    ['{"seconds": 2, "extra": 1}', /unknown key\(s\) in clip payload: "extra"/],
    ['not json', /must be JSON \{"seconds": N\} or the bytes of an MP4\/MKV file/],
    ['[1,2]', /must be a JSON object/],
  ])('payload %s is a clear error and starts nothing', async (payload, why) => {
    const before = chats();
    await probe.publish('sarai/camera/front_door/clip', payload);
    const err = await nextError('sarai/camera/front_door/clip');
    expect(err).toMatchObject({ source: 'clip' });
    expect(err.error).toMatch(why);
    expect(chats()).toBe(before);
  });

  it('a payload naming another URL is refused and that URL is never opened', async () => {
    let connections = 0;
    const lure = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => lure.listen(0, '127.0.0.1', r));
    const port = (lure.address() as net.AddressInfo).port;
    try {
      for (const payload of [
        `rtsp://127.0.0.1:${port}/stream`,
        JSON.stringify({ url: `rtsp://127.0.0.1:${port}/stream` }),
        JSON.stringify({ seconds: 2, rtsp_url: `rtsp://127.0.0.1:${port}/stream` }),
        JSON.stringify({ seconds: 2, id: `http://127.0.0.1:${port}/x.mp4` }),
      ]) {
        probe.clear();
        await probe.publish('sarai/camera/front_door/clip', payload);
        expect((await nextError('sarai/camera/front_door/clip')).error).toMatch(/a URL in a clip payload is never opened: set cameras.<camera>.rtsp_url/);
      }
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((r) => lure.close(() => r()));
    }
  });

  it('a bad camera id or a camera with no rtsp_url is a clear error, counted as rejected', async () => {
    const { counters } = schedulerFor(app.app.ctx).scheduler;
    const before = { ...counters.totals };
    await probe.publish('sarai/camera/Front-Door/clip', '{"seconds": 2}');
    expect((await nextError('sarai/camera/Front-Door/clip')).error).toMatch(/invalid camera id "Front-Door"/);
    await probe.publish('sarai/camera/no_url/clip', '{"seconds": 2}');
    expect((await nextError('sarai/camera/no_url/clip')).error).toMatch(/camera no_url has no rtsp_url configured/);
    await probe.publish('sarai/camera/front_door/clip', '{"seconds": 2, "fps": 3}');
    expect((await nextError('sarai/camera/front_door/clip')).error).toMatch(/fps/);
    expect(counters.totals.rejected - before.rejected).toBe(3);
    expect(counters.totals).toMatchObject({ queued: before.queued, dropped: before.dropped, failed: before.failed });
  });

  it.each([
    // well inside the clip's total budget (2 s + timeout_margin_s); slack for a loaded 2-core box
    ['refused', /Connection refused/, 5_000],
    ['silent', /no valid RTSP answer/, CLIP.socket_timeout_s * 1000 + 5_000],
    ['garbage', /no valid RTSP answer/, 5_000],
  ])('a camera that is %s is a clear error within the timeout, without its credentials; the next clip works', async (cam, why, withinMs) => {
    const t0 = performance.now();
    await probe.publish(`sarai/camera/${cam}/clip`, '{"seconds": 2}');
    const err = await nextError(`sarai/camera/${cam}/clip`, withinMs + 2_000);
    expect(performance.now() - t0).toBeLessThan(withinMs);
    expect(err.error).toMatch(why);
    expect(err.error).toContain('rtsp://***@127.0.0.1:');
    expect(err.error).not.toMatch(/viewer|Sup3r-secret/);
    await probe.publish('sarai/camera/garage/clip', '{"seconds": 1}');
    expect((await nextResult('garage'))['route']).toBe('clip:omni');
  });

  it.each([
    ['a truncated MP4', () => mp4.subarray(0, 6_000), /clip bytes could not be decoded/],
    ['an MKV with sound but no video', () => readFileSync(makeClip(path.join(tmp.dir, 'sound.mkv'), { seconds: 1, video: false })), /clip has no video stream/],
  ])('%s is a clear error; the next clip works', async (_name, bytes, why) => {
    await probe.publish('sarai/camera/front_door/clip', bytes());
    expect((await nextError('sarai/camera/front_door/clip')).error).toMatch(why);
    await probe.publish('sarai/camera/front_door/clip', mp4);
    expect((await nextResult('front_door'))['route']).toBe('clip:omni');
  });

  it('a vision model that cannot hear gets the frames only, and route_reason says the audio was dropped', async () => {
    const vision = await OpenAIServer.start({ reply: JSON.stringify(ANSWER), model: 'SmolVLM' });
    const visionProbe = await MqttProbe.connect(broker.url, ['saraiv/#']);
    const second = await startTestApp({
      mqtt: { url: broker.url, base_topic: 'saraiv' },
      models: { vision: { backend: 'openai', url: vision.url, model: 'SmolVLM', name: 'SmolVLM' } },
      cameras: { front_door: { rtsp_url: camera.url('av') } },
      clip: CLIP,
    });
    try {
      await visionProbe.publish('saraiv/camera/front_door/clip', '{"seconds": 1}');
      const m = await visionProbe.waitForTopic('saraiv/camera/front_door/result', 20_000);
      const result = JSON.parse(m.payload.toString()) as Record<string, unknown>;
      expect(result).toMatchObject({ route: 'clip:vision', model: 'SmolVLM', summary: ANSWER.summary });
      expect(String(result['route_reason'])).toMatch(/^2 frames \+ 1\.0 s audio: .*audio dropped \(vision cannot hear\)/);
      const parts = userParts(vision.chatBodies().at(-1) ?? {});
      expect(parts.filter((p) => p.type === 'image_url')).toHaveLength(2);
      expect(parts.some((p) => p.type === 'input_audio')).toBe(false);
    } finally {
      await second.stop();
      await visionProbe.close();
      await vision.close();
    }
  });

  it('a clip the queue has no room for is counted once, as dropped, and reported', async () => {
    const fullProbe = await MqttProbe.connect(broker.url, ['saraiq/#']);
    const full = await startTestApp({
      mqtt: { url: broker.url, base_topic: 'saraiq' },
      models: { omni: { backend: 'openai', url: omni.url, model: 'Qwen2.5-Omni-7B', name: 'Qwen2.5-Omni-7B' } },
      // room for one waiting upload: the first runs, the second waits, the third does not fit
      scheduler: { max_queued_mb: (1.5 * mp4.length) / 1_048_576 },
      clip: CLIP,
    });
    try {
      const { scheduler } = schedulerFor(full.app.ctx);
      for (let i = 0; i < 3; i++) await fullProbe.publish('saraiq/camera/porch/clip', mp4);
      const err = await fullProbe.waitForTopic('saraiq/error', 10_000);
      expect(String((JSON.parse(err.payload.toString()) as ErrorReport).error)).toMatch(/max_queued_mb/);
      await expect.poll(() => scheduler.counters.totals.completed, { timeout: 30_000 }).toBe(2);
      expect(scheduler.counters.totals).toMatchObject({ dropped: 1, rejected: 0, failed: 0 });
    } finally {
      await full.stop();
      await fullProbe.close();
    }
  });

  it('clip_on_motion: a motion-triggered result (Frigate, HA) takes a clip; clip results never trigger one', async () => {
    const motionProbe = await MqttProbe.connect(broker.url, ['saraim/#']);
    const motion = await startTestApp({
      mqtt: { url: broker.url, base_topic: 'saraim' },
      models: { omni: { backend: 'openai', url: omni.url, model: 'Qwen2.5-Omni-7B', name: 'Qwen2.5-Omni-7B' } },
      cameras: { porch: { rtsp_url: camera.url('av'), clip_on_motion: true, clip_seconds: 1, cooldown_s: 0 }, yard: { rtsp_url: camera.url('av') } },
      clip: CLIP,
    });
    try {
      const base: Omit<CameraResult, 'id' | 'camera' | 'source'> = { summary: 'motion', description: 'motion', objects: [], alert: false, severity: 'none', event_type: 'other', route: 'vision', route_reason: '', model: 'm', latency_ms: 1, ts: new Date().toISOString() };
      await motion.app.ctx.bus.emit('camera.result', { result: { ...base, id: 'r1', camera: 'porch', source: 'frigate' } });
      await motion.app.ctx.bus.emit('camera.result', { result: { ...base, id: 'r2', camera: 'yard', source: 'frigate' } }); // clip_on_motion off
      await motion.app.ctx.bus.emit('camera.result', { result: { ...base, id: 'r3', camera: 'porch', source: 'mqtt' } }); // not motion
      const m = await motionProbe.waitFor((x) => x.topic === 'saraim/camera/porch/result' && x.payload.toString().includes('"route":"clip:omni"'), 20_000, 'porch clip result');
      expect(JSON.parse(m.payload.toString())).toMatchObject({ source: 'clip', camera: 'porch', summary: ANSWER.summary });
      // let the published clip result travel the bus: it must not start another capture
      await vi.waitFor(() => expect(childPids('ffmpeg')).toEqual([]));
      expect(motionProbe.messages.filter((x) => x.topic.endsWith('/result') && x.payload.toString().includes('clip:'))).toHaveLength(1);
      expect(motionProbe.messages.some((x) => x.topic === 'saraim/camera/yard/result' && x.payload.toString().includes('clip:'))).toBe(false);
    } finally {
      await motion.stop();
      await motionProbe.close();
    }
  });

  it('stopping the bridge mid-capture kills ffmpeg at once', async () => {
    const stopping = await startTestApp({
      mqtt: { url: broker.url, base_topic: 'saraistop' },
      models: { omni: { backend: 'openai', url: omni.url } },
      cameras: { porch: { rtsp_url: camera.url('av') } },
      clip: CLIP,
    });
    const p = await MqttProbe.connect(broker.url, ['saraistop/#']);
    await p.publish('saraistop/camera/porch/clip', '{"seconds": 10}');
    await vi.waitFor(() => expect(childPids('ffmpeg')).toHaveLength(1), { timeout: 5_000 });
    const t0 = performance.now();
    await stopping.stop();
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(childPids('ffmpeg')).toEqual([]);
    await p.close();
  });

  it('never logs camera credentials', () => {
    const logged = JSON.stringify(app.logs.lines);
    expect(logged).not.toContain('Sup3r-secret');
    expect(logged).toContain('clip capture ready');
  });
});
