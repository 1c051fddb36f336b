import { afterEach, describe, expect, it } from 'vitest';
import { DisposedError, TimeoutError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { FfmpegAbortedError, FfmpegError, FfmpegRunner } from '../../src/media/ffmpeg/process.js';
import { locateFfmpeg } from '../../src/media/ffmpeg/locate.js';
import { childPids } from '../fixtures/rtsp/camera.js';
import { requireProgram } from '../helpers/require-program.js';

const log = createLogger('silent');
const hasFfmpeg = requireProgram('ffmpeg');
// a real-time endless source: it runs until something stops it
const ENDLESS = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10', '-f', 'null', '-'];

describe.skipIf(!hasFfmpeg)('FfmpegRunner with the real ffmpeg', () => {
  let runner: FfmpegRunner;
  const make = async () => (runner = new FfmpegRunner((await locateFfmpeg()).path, log));
  afterEach(async () => {
    await runner.dispose();
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('returns stdout of a successful run', async () => {
    await make();
    const r = await runner.run({
      args: ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000:duration=0.5', '-f', 's16le', '-ac', '1', 'pipe:1'],
      timeoutMs: 10_000,
    });
    expect(r.stdout.length).toBe(8000); // 0.5 s x 8000 Hz x 2 bytes
  });

  it('onStdout streams stdout as it comes (a live stream) instead of collecting it, past maxOutputBytes', async () => {
    await make();
    let bytes = 0;
    let chunks = 0;
    const r = await runner.run({
      args: ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000:duration=2', '-f', 's16le', '-ac', '1', 'pipe:1'],
      timeoutMs: 10_000,
      maxOutputBytes: 1000,
      onStdout: (c) => {
        bytes += c.length;
        chunks++;
      },
    });
    expect(bytes).toBe(32_000);
    expect(chunks).toBeGreaterThan(0);
    expect(r.stdout.length).toBe(0);
  });

  it('kills and reaps a child that runs past its total timeout', async () => {
    await make();
    const t0 = performance.now();
    const p = runner.run({ args: ENDLESS, timeoutMs: 400 });
    expect(runner.pids()).toHaveLength(1);
    expect(childPids('ffmpeg')).toEqual(runner.pids());
    await expect(p).rejects.toThrow(TimeoutError);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(runner.pids()).toEqual([]);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('kills the child on abort', async () => {
    await make();
    const ac = new AbortController();
    const p = runner.run({ args: ENDLESS, timeoutMs: 30_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toThrow(FfmpegAbortedError);
    expect(childPids('ffmpeg')).toEqual([]);
  });

  it('kills every child on dispose (shutdown) and refuses new runs', async () => {
    await make();
    const runs = [runner.run({ args: ENDLESS, timeoutMs: 30_000 }), runner.run({ args: ENDLESS, timeoutMs: 30_000 })];
    const outcomes = runs.map((r) => r.catch((e: unknown) => e));
    expect(childPids('ffmpeg')).toHaveLength(2);
    await runner.dispose();
    for (const o of await Promise.all(outcomes)) expect(o).toBeInstanceOf(DisposedError);
    expect(childPids('ffmpeg')).toEqual([]);
    await expect(runner.run({ args: ENDLESS, timeoutMs: 1000 })).rejects.toThrow(DisposedError);
  });

  it('reports the stderr tail, with URL credentials redacted, when ffmpeg fails', async () => {
    await make();
    const err = await runner
      .run({ args: ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', 'rtsp://cam:hunter2@127.0.0.1:1/x', '-f', 'null', '-'], timeoutMs: 10_000, secrets: ['hunter2'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as FfmpegError).message).toMatch(/Connection refused/);
    expect((err as FfmpegError).message).not.toMatch(/hunter2|cam:/);
    expect((err as FfmpegError).exitCode).not.toBe(0);
  });

  it('fails clearly when the binary does not exist', async () => {
    runner = new FfmpegRunner('/nonexistent/ffmpeg', log);
    await expect(runner.run({ args: ['-version'], timeoutMs: 1000 })).rejects.toThrow(/cannot start ffmpeg at \/nonexistent\/ffmpeg/);
    expect(runner.pids()).toEqual([]);
  });
});
