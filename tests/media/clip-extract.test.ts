import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { ClipCapture, DEFAULT_CLIP_OPTIONS, thin } from '../../src/media/clip/capture.js';
import { mp4IndexFirst, sniffContainer } from '../../src/media/clip/container.js';
import { locateFfmpeg } from '../../src/media/ffmpeg/locate.js';
import { FfmpegRunner } from '../../src/media/ffmpeg/process.js';
import { childPids, makeClip } from '../fixtures/rtsp/camera.js';
import { requireProgram } from '../helpers/require-program.js';

const log = createLogger('silent');
const hasFfmpeg = requireProgram('ffmpeg');
const OPTS = { ...DEFAULT_CLIP_OPTIONS, frameSize: 256, maxFrames: 8, sampling: { mode: 'fixed', fps: 2 } as const };

describe('helpers', () => {
  it('thins a list evenly, keeping the first and the last', () => {
    expect(thin([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toEqual([0, 5, 10]);
    expect(thin([1, 2], 5)).toEqual([1, 2]);
  });
});

describe.skipIf(!hasFfmpeg)('clip extraction from MP4/MKV bytes with the real ffmpeg', () => {
  let dir: string;
  let runner: FfmpegRunner;
  let capture: ClipCapture;
  const file = (name: string) => path.join(dir, name);
  // a private temp root, so other test files' temp dirs cannot be mistaken for ours
  const clipDirs = () => readdirSync(path.join(dir, 'tmp'));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-extract-'));
    mkdirSync(path.join(dir, 'tmp'));
    runner = new FfmpegRunner((await locateFfmpeg()).path, log);
    capture = new ClipCapture(runner, { ...OPTS, tempDir: path.join(dir, 'tmp') }, log);
    makeClip(file('av.mp4'), { seconds: 4 });
    makeClip(file('fast.mp4'), { seconds: 4, faststart: true });
    makeClip(file('av.mkv'), { seconds: 4 });
    makeClip(file('long.mkv'), { seconds: 10, width: 320, height: 180 });
    makeClip(file('mute.mp4'), { seconds: 2, audio: false });
    makeClip(file('sound.mkv'), { seconds: 2, video: false });
  });
  afterEach(() => {
    expect(runner.pids()).toEqual([]);
    expect(childPids('ffmpeg')).toEqual([]);
  });
  afterAll(async () => {
    await runner?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['av.mp4', 'mp4', false],
    ['fast.mp4', 'mp4', true],
    ['av.mkv', 'matroska', false],
  ])('%s: 8 frames of 256x192 and 4 s of 16 kHz audio', async (name, container, indexFirst) => {
    const bytes = readFileSync(file(name));
    expect(sniffContainer(bytes)).toBe(container);
    if (container === 'mp4') expect(mp4IndexFirst(bytes)).toBe(indexFirst);
    const clip = await capture.extract(bytes);
    expect(clip.frames).toHaveLength(8);
    for (const f of clip.frames) {
      const meta = await sharp(f.jpeg).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 192]);
    }
    expect(clip.frames.map((f) => f.timeMs)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500]);
    expect(clip.audio?.sampleRate).toBe(16_000);
    expect((clip.audio?.samples.length ?? 0) / 16_000).toBeCloseTo(4, 1);
    expect(clipDirs()).toEqual([]); // the private temp file for a moov-last MP4 is gone
  });

  it('spreads maxFrames over a longer clip and keeps small frames at their size', async () => {
    const clip = await capture.extract(readFileSync(file('long.mkv')));
    expect(clip.frames).toHaveLength(8);
    expect(clip.frames[0]?.timeMs).toBe(0);
    expect(clip.frames.at(-1)?.timeMs).toBeGreaterThanOrEqual(9_000);
    expect([clip.width, clip.height]).toEqual([256, 144]);
    expect((clip.audio?.samples.length ?? 0) / 16_000).toBeCloseTo(10, 1);
  });

  it('samples on scene change: the first frame, bounded by maxFrames', async () => {
    const scene = new ClipCapture(runner, { ...OPTS, sampling: { mode: 'scene', threshold: 0.3 } }, log);
    const clip = await scene.extract(readFileSync(file('av.mkv')));
    expect(clip.frames.length).toBeGreaterThanOrEqual(1);
    expect(clip.frames.length).toBeLessThanOrEqual(8);
    expect(clip.frames[0]?.timeMs).toBeLessThan(100); // the clip's first frame (its own timestamp)
  });

  it('a clip without sound gives frames and no audio', async () => {
    const clip = await capture.extract(readFileSync(file('mute.mp4')));
    expect(clip.frames).toHaveLength(4);
    expect(clip.audio).toBeUndefined();
  });

  it('a clip without video is a clear error', async () => {
    await expect(capture.extract(readFileSync(file('sound.mkv')))).rejects.toThrow(/clip has no video stream/);
  });

  it.each([
    ['a truncated MP4', () => readFileSync(file('av.mp4')).subarray(0, 4000)],
    ['an MP4 with its middle zeroed', () => Buffer.concat([readFileSync(file('fast.mp4')).subarray(0, 3000), Buffer.alloc(20_000)])],
    ['an MKV header then noise', () => Buffer.concat([readFileSync(file('av.mkv')).subarray(0, 200), Buffer.alloc(5000, 0x5a)])],
  ])('%s is a clear InputError and the next clip works', async (_name, bytes) => {
    const err = await capture.extract(bytes()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(String(err)).toMatch(/could not be decoded|no video stream|no decodable frames|neither/);
    expect(String(err)).not.toContain(path.join(dir, 'tmp'));
    expect(clipDirs()).toEqual([]);
    expect((await capture.extract(readFileSync(file('mute.mp4')))).frames).toHaveLength(4);
  });

  it('bytes that are no video container are refused before ffmpeg starts', async () => {
    await expect(capture.extract(Buffer.from('{"seconds": 3}'))).rejects.toThrow(/neither MP4 nor Matroska/);
    await expect(capture.extract(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).rejects.toThrow(InputError);
  });
});
