/**
 * Clip capture + extraction: our ClipCapture (one ffmpeg run -> Matroska on a pipe -> JPEG
 * frames + 16 kHz PCM in memory) against the plain ffmpeg command doing the same work (same
 * input, same frames, same audio, written to files the ordinary way), in the same run.
 *   1. 3 s over RTSP/TCP from the test camera (GStreamer RTSP server on loopback)
 *   2. a 10 s MKV given as bytes (stdin) vs the plain command reading the file
 * Target: ratio (ours / plain) <= 1.1.   npx tsx bench/clip-capture.ts [rounds]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { ClipCapture, DEFAULT_CLIP_OPTIONS, type Clip } from '../src/media/clip/capture.js';
import { locateFfmpeg } from '../src/media/ffmpeg/locate.js';
import { FfmpegRunner } from '../src/media/ffmpeg/process.js';
import { makeClip, rtspServerAvailable, startTestCamera } from '../tests/fixtures/rtsp/camera.js';
import { percentile, printTable } from './stats.js';

const rounds = Number(process.argv[2] ?? 3);
const SECONDS = 3;
const opts = DEFAULT_CLIP_OPTIONS; // 2 fps, 8 frames max, 512 px, q 4, 16 kHz mono
const log = createLogger('warn');
const ffmpeg = (await locateFfmpeg()).path;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-clip-'));
const runner = new FfmpegRunner(ffmpeg, log);
const capture = new ClipCapture(runner, opts, log);

/** The ordinary command line: frames to numbered JPEG files, audio to a raw PCM file. */
function plainArgs(input: string[], durationS: number, fps: number, maxFrames: number, out: string): string[] {
  const size = opts.frameSize;
  return [
    // -t before -i: it bounds the input, so it holds for both outputs (as in ours)
    '-hide_banner', '-loglevel', 'error', '-y', '-t', String(durationS), ...input,
    '-map', '0:v:0', '-vf', `fps=${fps},scale=w='min(iw,${size})':h='min(ih,${size})':force_original_aspect_ratio=decrease:force_divisible_by=2`,
    '-frames:v', String(maxFrames), '-q:v', String(opts.jpegQuality), path.join(out, 'frame-%02d.jpg'),
    '-map', '0:a:0', '-ac', '1', '-ar', '16000', '-f', 's16le', path.join(out, 'audio.pcm'),
  ];
}

function runPlain(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`plain ffmpeg failed: ${err}`))));
  });
}

async function timeOurs(fn: () => Promise<Clip>): Promise<{ ms: number; clip: Clip }> {
  const t0 = performance.now();
  const clip = await fn();
  return { ms: performance.now() - t0, clip };
}

const rows: (string | number)[][] = [];
const ratios: number[] = [];
/**
 * The box has 2 cores shared with other work, so single runs are noisy: both sides are
 * measured the same way, alternating, and compared by their best run (the least disturbed)
 * as well as by their median.
 */
function addRow(name: string, ours: number[], plain: number[], clip: Clip): void {
  const o = Math.min(...ours);
  const p = Math.min(...plain);
  const om = percentile(ours, 50);
  const pm = percentile(plain, 50);
  ratios.push(o / p);
  const audioS = clip.audio ? (clip.audio.samples.length / clip.audio.sampleRate).toFixed(2) : '-';
  rows.push([name, clip.frames.length, `${clip.width}x${clip.height}`, audioS, o.toFixed(0), p.toFixed(0), (o / p).toFixed(3), om.toFixed(0), pm.toFixed(0), (om / pm).toFixed(3)]);
}

try {
  if (rtspServerAvailable()) {
    const camera = await startTestCamera(makeClip(path.join(tmp, 'camera.mp4'), { seconds: 12 }), { user: 'bench', password: 'secret' });
    try {
      const url = camera.url('av');
      const fps = Math.min((opts.sampling as { fps: number }).fps, opts.maxFrames / SECONDS);
      const ours: number[] = [];
      const plain: number[] = [];
      let last: Clip | undefined;
      for (let i = 0; i < rounds; i++) {
        // alternate, so neither side always runs on a warmer machine
        const r = await timeOurs(() => capture.capture(url, SECONDS));
        ours.push(r.ms);
        last = r.clip;
        const out = path.join(tmp, `rtsp-${i}`);
        mkdirSync(out);
        plain.push(await runPlain(plainArgs(['-rtsp_transport', 'tcp', '-timeout', '5000000', '-i', url], SECONDS, fps, Math.ceil(SECONDS * fps) + 1, out)));
      }
      if (last) addRow(`RTSP ${SECONDS} s capture`, ours, plain, last);
    } finally {
      await camera.stop();
    }
  } else {
    console.log('GStreamer RTSP server not available (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 ...): RTSP row skipped');
  }

  const mkv = makeClip(path.join(tmp, 'clip.mkv'), { seconds: 10 });
  const bytes = readFileSync(mkv);
  const ours: number[] = [];
  const plain: number[] = [];
  let last: Clip | undefined;
  const fps = (opts.sampling as { fps: number }).fps;
  for (let i = 0; i < rounds * 2; i++) {
    const r = await timeOurs(() => capture.extract(bytes));
    ours.push(r.ms);
    last = r.clip;
    const out = path.join(tmp, `mkv-${i}`);
    mkdirSync(out);
    // same work: decode every frame, pick 2 fps, encode JPEGs, resample audio
    plain.push(await runPlain(plainArgs(['-i', mkv], opts.maxSeconds, fps, Math.ceil(opts.maxSeconds * fps) + 1, out)));
  }
  if (last) addRow('10 s MKV bytes extraction', ours, plain, last);

  printTable(
    `clip capture + extraction, best and median of ${rounds} rounds (RTSP) / ${rounds * 2} rounds (bytes); plain = the same ffmpeg work writing files`,
    ['case', 'frames', 'size', 'audio s', 'ours best', 'plain best', 'ratio', 'ours p50', 'plain p50', 'ratio p50'],
    rows,
  );
  const worst = Math.max(...ratios);
  console.log(`\ntarget ratio (best runs) <= 1.1: ${worst <= 1.1 ? 'met' : 'NOT met'} (worst ${worst.toFixed(3)})`);
} finally {
  await runner.dispose();
  rmSync(tmp, { recursive: true, force: true });
}
