import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { buildClipArgs, checkCameraUrl, FfmpegArgs, rtspListFile } from '../../src/media/ffmpeg/args.js';
import { FfmpegNotFoundError, ffmpegMajorVersion, locateFfmpeg } from '../../src/media/ffmpeg/locate.js';
import { requireProgram } from '../helpers/require-program.js';
import { redactText, StderrTail, urlSecrets } from '../../src/media/ffmpeg/stderr.js';

const hasFfmpeg = requireProgram('ffmpeg');
const spec = {
  durationS: 3,
  sampling: { mode: 'fixed', fps: 2 } as const,
  maxFrames: 8,
  frameSize: 320,
  jpegQuality: 4,
  sampleRate: 16_000,
};

describe('camera URLs', () => {
  it('accepts rtsp and rtsps URLs with a host', () => {
    expect(checkCameraUrl('rtsp://user:pass@10.0.0.2:554/stream1').hostname).toBe('10.0.0.2');
    expect(checkCameraUrl('rtsps://cam.local/live').protocol).toBe('rtsps:');
  });

  it.each([
    ['http://127.0.0.1/x.mp4', /scheme "http:" is not allowed/],
    ['file:///etc/passwd', /scheme "file:" is not allowed/],
    ['concat:a|b', /scheme "concat:" is not allowed/],
    ['-i', /whitespace|control|empty/],
    ['rtsp://cam/x -f null', /whitespace/],
    ['rtsp://cam/x\nfoo', /control/],
    ['', /empty/],
    ['not a url', /whitespace/],
    ['rtsp:///nohost', /no host|not a valid/],
  ])('rejects %j', (url, why) => {
    expect(() => checkCameraUrl(url)).toThrow(InputError);
    expect(() => checkCameraUrl(url)).toThrow(why);
  });
});

describe('argument builder', () => {
  it('puts a protocol whitelist, TCP transport and a socket timeout in µs before an RTSP input', () => {
    const args = buildClipArgs({ ...spec, input: { kind: 'rtsp', url: 'rtsp://u:p@127.0.0.1:8554/av', socketTimeoutMs: 2500 } });
    const i = args.indexOf('-i');
    expect(args[i + 1]).toBe('rtsp://u:p@127.0.0.1:8554/av');
    const before = args.slice(0, i);
    expect(before).toEqual(expect.arrayContaining(['-protocol_whitelist', 'rtsp,rtsps,tcp,tls', '-rtsp_transport', 'tcp', '-timeout', '2500000', '-t', '3.000']));
    expect(args.at(-1)).toBe('pipe:1');
    expect(args).toEqual(expect.arrayContaining(['-f', 'matroska', '-ac', '1', '-ar', '16000', '-c:v', 'mjpeg']));
    expect(args[args.indexOf('-vf') + 1]).toMatch(/^fps=2\.0000,scale=w='min\(iw,320\)'/);
  });

  it('uses -stimeout for the RTSP socket timeout on ffmpeg < 5 (where -timeout means listen)', () => {
    const args = buildClipArgs({ ...spec, input: { kind: 'rtsp', url: 'rtsp://cam/x', socketTimeoutMs: 1500, legacyTimeout: true } });
    expect(args).toEqual(expect.arrayContaining(['-stimeout', '1500000']));
    expect(args).not.toContain('-timeout');
  });

  it('whitelists only pipe for stdin and only file for a file', () => {
    const pipe = buildClipArgs({ ...spec, input: { kind: 'pipe', format: 'matroska' } });
    expect(pipe.slice(0, pipe.indexOf('-i') + 2)).toEqual(expect.arrayContaining(['-protocol_whitelist', 'pipe', '-f', 'matroska', '-i', 'pipe:0']));
    const file = buildClipArgs({ ...spec, input: { kind: 'file', path: '/tmp/x/clip.mp4' } });
    expect(file).toEqual(expect.arrayContaining(['-protocol_whitelist', 'file', '-i', 'file:/tmp/x/clip.mp4']));
  });

  it('samples on scene change with the first frame always kept', () => {
    const args = buildClipArgs({ ...spec, sampling: { mode: 'scene', threshold: 0.3 }, input: { kind: 'pipe' } });
    expect(args[args.indexOf('-vf') + 1]).toMatch(/^select='eq\(n,0\)\+gt\(scene,0\.300\)'/);
  });

  it('refuses a non-camera URL and values with control characters', () => {
    expect(() => FfmpegArgs.base().input({ kind: 'rtsp', url: 'http://x/y', socketTimeoutMs: 1000 })).toThrow(InputError);
    expect(() => FfmpegArgs.base().opt('-vf', 'scale=1:1\nx')).toThrow(/control characters/);
  });
});

describe('redaction of ffmpeg messages', () => {
  it('removes credentials from every URL and known secrets anywhere', () => {
    const url = 'rtsp://admin:s3cr%40t@10.0.0.2:554/live';
    const text = `${url}: Server returned 401; auth as admin with s3cr@t failed; see rtsps://x:y@h/z`;
    const out = redactText(text, urlSecrets(url));
    expect(out).not.toMatch(/s3cr|admin|x:y/);
    expect(out).toContain('rtsp://***@10.0.0.2:554/live');
    expect(out).toContain('rtsps://***@h/z');
  });

  it('keeps the last lines of stderr without ffmpeg context prefixes', () => {
    const tail = new StderrTail(64);
    for (let i = 0; i < 20; i++) tail.push(Buffer.from(`[rtsp @ 0x55d1aa] line ${i}\n`));
    expect(tail.text(2)).toBe('line 18; line 19');
  });
});

describe('locating ffmpeg', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-locate-'));
  const make = (name: string, mode: number) => {
    const p = path.join(dir, name);
    writeFileSync(p, '#!/bin/sh\nexit 0\n');
    chmodSync(p, mode);
    return p;
  };
  const binDir = path.join(dir, 'bin');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers the config path, then FFMPEG_PATH, then PATH', async () => {
    const fromConfig = make('ffmpeg-config', 0o755);
    const fromEnv = make('ffmpeg-env', 0o755);
    const env = { PATH: `relative/dir:${binDir}:/usr/bin:/bin`, FFMPEG_PATH: fromEnv };
    expect(await locateFfmpeg({ configPath: fromConfig, env })).toEqual({ path: fromConfig, source: 'config' });
    expect(await locateFfmpeg({ env })).toEqual({ path: fromEnv, source: 'env' });
    const onPath = await locateFfmpeg({ env: { PATH: env.PATH } });
    expect(onPath.source).toBe('path');
    expect(onPath.path).toMatch(/\/ffmpeg$/);
  });

  it('says clearly when an explicit path is unusable instead of silently using another', async () => {
    const notExec = make('ffmpeg-noexec', 0o644);
    await expect(locateFfmpeg({ configPath: notExec, env: { PATH: '/usr/bin' } })).rejects.toThrow(/clip.ffmpeg_path .* not an executable/);
    await expect(locateFfmpeg({ env: { FFMPEG_PATH: 'ffmpeg', PATH: '/usr/bin' } })).rejects.toThrow(/FFMPEG_PATH must be an absolute path/);
  });

  it.skipIf(!hasFfmpeg)('reads the major version of the real ffmpeg', async () => {
    const major = await ffmpegMajorVersion((await locateFfmpeg()).path);
    expect(major).toBeGreaterThanOrEqual(4);
    expect(await ffmpegMajorVersion(make('not-ffmpeg', 0o755))).toBeUndefined();
  });

  it('names every way to get ffmpeg when there is none (npm fallback not installed)', async () => {
    const err = await locateFfmpeg({ env: { PATH: dir } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegNotFoundError);
    expect(String(err)).toMatch(/clip.ffmpeg_path or FFMPEG_PATH.*apt-get install ffmpeg.*@ffmpeg-installer\/ffmpeg/);
  });
});

describe('the ffconcat list that carries a camera URL with credentials', () => {
  it('names the URL quoted for ffmpeg, with TCP transport and the socket timeout, and checks the URL first', () => {
    expect(rtspListFile("rtsp://u:it's@cam.local:554/s", 5_000)).toBe(
      ["ffconcat version 1.0", "file 'rtsp://u:it'\\''s@cam.local:554/s'", 'option rtsp_transport tcp', 'option timeout 5000000', ''].join('\n'),
    );
    expect(rtspListFile('rtsp://u:p@h/x', 250, true)).toContain('option stimeout 250000');
    expect(() => rtspListFile('http://u:p@h/x', 1_000)).toThrow(InputError);
    expect(() => rtspListFile('rtsp://u:p@h/x\nfile /etc/passwd', 1_000)).toThrow(InputError);
  });

  it('as the input: a concat demuxer limited to file and the RTSP protocols, the path, never the URL', () => {
    const args = buildClipArgs({
      input: { kind: 'rtsp-list', path: '/tmp/x/camera.ffconcat' },
      durationS: 2,
      sampling: { mode: 'fixed', fps: 1 },
      maxFrames: 2,
      frameSize: 320,
      jpegQuality: 5,
      sampleRate: 16_000,
    });
    const i = args.indexOf('-i');
    expect(args.slice(0, i + 2)).toEqual(['-hide_banner', '-nostats', '-loglevel', 'error', '-protocol_whitelist', 'file,rtsp,rtsps,tcp,tls', '-f', 'concat', '-safe', '0', '-t', '2.000', '-i', 'file:/tmp/x/camera.ffconcat']);
  });
});
