import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CapacityError, InputError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { CaptureError, ClipCapture, DEFAULT_CLIP_OPTIONS, type Clip, type ClipOptions } from '../../src/media/clip/capture.js';
import { locateFfmpeg } from '../../src/media/ffmpeg/locate.js';
import { FfmpegRunner } from '../../src/media/ffmpeg/process.js';
import { childPids, makeClip, requireRtspServer, startBadServer, startTestCamera, type TestCamera } from '../fixtures/rtsp/camera.js';
import { requireProgram } from '../helpers/require-program.js';

const log = createLogger('silent');
const ready = requireProgram('ffmpeg') && requireRtspServer();
const AUTH = { user: 'viewer', password: 'p@ss:w0rd/x' };
const OPTS: ClipOptions = { ...DEFAULT_CLIP_OPTIONS, frameSize: 320, socketTimeoutMs: 2_000, timeoutMarginMs: 8_000 };

/** Zero crossings per second / 2 = the frequency of a pure tone. */
function toneHz(samples: Float32Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if ((samples[i - 1] ?? 0) < 0 !== (samples[i] ?? 0) < 0) crossings++;
  return crossings / 2 / (samples.length / rate);
}

async function expectRealFrames(clip: Clip, count: number): Promise<void> {
  expect(clip.frames).toHaveLength(count);
  for (const f of clip.frames) {
    expect(f.jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    const meta = await sharp(f.jpeg).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 320, 240]);
  }
  const times = clip.frames.map((f) => f.timeMs);
  expect(times).toEqual([...times].sort((a, b) => a - b));
}

describe.skipIf(!ready)('clip capture from a real RTSP camera (GStreamer RTSP server on loopback)', () => {
  let dir: string;
  let camera: TestCamera;
  let runner: FfmpegRunner;
  let capture: ClipCapture;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-rtsp-'));
    camera = await startTestCamera(makeClip(path.join(dir, 'camera.mp4'), { seconds: 12 }), AUTH);
    runner = new FfmpegRunner((await locateFfmpeg()).path, log);
    capture = new ClipCapture(runner, OPTS, log);
  });
  afterEach(() => {
    expect(runner.pids()).toEqual([]);
    expect(childPids('ffmpeg')).toEqual([]);
  });
  afterAll(async () => {
    await runner?.dispose();
    await camera?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('captures 3 s over RTSP/TCP: 6 JPEG frames of 320x240 and 3 s of 16 kHz mono audio', async () => {
    const clip = await capture.capture(camera.url('av'), 3);
    // 2 fps (DEFAULT sampling) x 3 s; frames spread over the clip
    await expectRealFrames(clip, 6);
    expect(clip.frames.map((f) => f.timeMs)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect([clip.width, clip.height]).toEqual([320, 240]);
    expect(clip.audio?.sampleRate).toBe(16_000);
    const seconds = (clip.audio?.samples.length ?? 0) / 16_000;
    expect(seconds).toBeGreaterThan(2.9);
    expect(seconds).toBeLessThan(3.1);
    // the camera's microphone hears a 440 Hz tone: the samples are that sound, not silence
    expect(toneHz(clip.audio?.samples ?? new Float32Array(), 16_000)).toBeCloseTo(440, -1);
    expect(clip.elapsedMs).toBeLessThan(3_000 + OPTS.timeoutMarginMs);
  });

  it('bounds frames by maxFrames over a longer clip, spread over its length', async () => {
    const few = new ClipCapture(runner, { ...OPTS, maxFrames: 3 }, log);
    const clip = await few.capture(camera.url('av'), 2);
    await expectRealFrames(clip, 3);
    expect(clip.frames.at(-1)?.timeMs).toBeGreaterThanOrEqual(1000);
  });

  it('takes frames only from a camera without a microphone', async () => {
    const clip = await capture.capture(camera.url('video'), 1);
    await expectRealFrames(clip, 2);
    expect(clip.audio).toBeUndefined();
  });

  it('a wrong password is a clear error that never shows the credentials', async () => {
    const bad = camera.url('av').replace(encodeURIComponent(AUTH.password), 'wrong-secret');
    const err = await capture.capture(bad, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureError);
    expect(String(err)).toMatch(/401 Unauthorized/);
    expect(String(err)).toContain(`rtsp://***@127.0.0.1:${camera.port}/av`);
    expect(String(err)).not.toMatch(/viewer|wrong-secret/);
  });

  it("keeps the camera password off ffmpeg's command line (/proc/<pid>/cmdline is world-readable)", async () => {
    const url = camera.url('av');
    const seen: string[] = [];
    const running = capture.capture(url, 2);
    await vi.waitFor(() => expect(runner.pids()).toHaveLength(1), { timeout: 20_000 });
    for (const pid of runner.pids()) seen.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    const clip = await running;
    expect(clip.frames).toHaveLength(4); // the capture itself still works, authenticated
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/ffmpeg/);
    expect(seen[0]).not.toContain(AUTH.password);
    expect(seen[0]).not.toContain(encodeURIComponent(AUTH.password));
    expect(seen[0]).not.toContain(AUTH.user);
    // the private list file that carried the URL is gone
    const list = /file:(\S+\.ffconcat)/.exec(seen[0] ?? '')?.[1];
    expect(list).toBeDefined();
    expect(existsSync(list!)).toBe(false);
  });

  it('a closed port is refused quickly, and the next clip works', async () => {
    const t0 = performance.now();
    await expect(capture.capture('rtsp://viewer:pw@127.0.0.1:1/av', 3)).rejects.toThrow(/Connection refused/);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect((await capture.capture(camera.url('av'), 1)).frames.length).toBe(2);
  });

  it.each(['silent', 'garbage'] as const)('a %s server is a clear error within the socket timeout', async (mode) => {
    const server = await startBadServer(mode);
    try {
      const t0 = performance.now();
      const err = await capture.capture(`rtsp://viewer:pw@127.0.0.1:${server.port}/av`, 3).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CaptureError);
      expect(String(err)).toMatch(/no valid RTSP answer/);
      expect(String(err)).not.toContain('viewer:pw');
      // bounded by the socket timeout, not the clip's total budget (slack for a loaded 2-core box)
      expect(performance.now() - t0).toBeLessThan(OPTS.socketTimeoutMs + 5_000);
    } finally {
      await server.close();
    }
    expect((await capture.capture(camera.url('av'), 1)).frames.length).toBe(2);
  });

  it.each([0, -1, 1e9, Number.NaN, '3', null])('refuses seconds = %j before any process starts', async (seconds) => {
    await expect(capture.capture(camera.url('av'), seconds as number)).rejects.toThrow(InputError);
    await expect(capture.capture(camera.url('av'), seconds as number)).rejects.toThrow(/"seconds" must be/);
  });

  it('never opens a URL that is not rtsp/rtsps', async () => {
    await expect(capture.capture('http://127.0.0.1:1/clip.mp4', 1)).rejects.toThrow(/scheme "http:" is not allowed/);
    await expect(capture.capture('file:///etc/passwd', 1)).rejects.toThrow(/scheme "file:" is not allowed/);
  });

  it('limits concurrent captures: beyond the running and waiting slots it says no at once', async () => {
    const one = new ClipCapture(runner, { ...OPTS, maxConcurrent: 1, maxWaiting: 0 }, log);
    const first = one.capture(camera.url('av'), 1);
    await expect(one.capture(camera.url('av'), 1)).rejects.toThrow(CapacityError);
    expect((await first).frames.length).toBe(2);
  });

  it('stops a running capture on shutdown and leaves no ffmpeg behind', async () => {
    const own = new FfmpegRunner(runner.ffmpegPath, log);
    const cap = new ClipCapture(own, OPTS, log);
    const running = cap.capture(camera.url('av'), 5).catch((e: unknown) => e);
    await vi.waitFor(() => expect(own.pids()).toHaveLength(1)); // ffmpeg is running: stop it mid-stream
    await own.dispose();
    expect(String(await running)).toMatch(/shutting down/);
    expect(own.pids()).toEqual([]);
  });
});
