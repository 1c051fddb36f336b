import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Audio } from '../../backends/types.js';
import { InputError, TimeoutError } from '../../core/errors.js';
import { redactUrl, type Logger } from '../../log/logger.js';
import { buildClipArgs, checkCameraUrl, type FfmpegInput, type FrameSampling } from '../ffmpeg/args.js';
import { withRtspInput } from '../ffmpeg/rtsp-input.js';
import { pcm16ToFloat } from '../audio/pcm.js';
import { FfmpegError, type FfmpegRunner } from '../ffmpeg/process.js';
import { redactText, urlSecrets } from '../ffmpeg/stderr.js';
import { mp4IndexFirst, sniffContainer } from './container.js';
import { Limiter } from '../../models/limiter.js';
import { MatroskaError, readMatroska } from './matroska.js';

export interface ClipOptions {
  /** Longest clip (s): the bound on `seconds` asked for and on what is read from bytes. */
  maxSeconds: number;
  sampling: FrameSampling;
  /** Most frames handed to the model (its context is the limit). */
  maxFrames: number;
  /** Longest frame side (px). */
  frameSize: number;
  /** mjpeg qscale 2 (best) .. 31. */
  jpegQuality: number;
  /** Audio rate (Hz) of the mono PCM we return. */
  sampleRate: number;
  /** RTSP socket timeout (ms): connect and every read. */
  socketTimeoutMs: number;
  /** Budget over the clip's own length for connecting and decoding (ms). */
  timeoutMarginMs: number;
  /** Captures/extractions at once, and how many more may wait. */
  maxConcurrent: number;
  maxWaiting: number;
  /** Where a private copy of an MP4 that needs seeking is written (and removed); default os.tmpdir(). */
  tempDir?: string;
  /** The ffmpeg is older than 5.0 (RTSP socket timeout is -stimeout there). */
  legacyRtspTimeout?: boolean;
}

export const DEFAULT_CLIP_OPTIONS: ClipOptions = {
  maxSeconds: 30,
  sampling: { mode: 'fixed', fps: 2 },
  maxFrames: 8,
  frameSize: 512,
  jpegQuality: 4,
  sampleRate: 16_000,
  socketTimeoutMs: 5_000,
  timeoutMarginMs: 10_000,
  maxConcurrent: 2,
  maxWaiting: 4,
};

export interface ClipFrame {
  jpeg: Buffer;
  /** Time of the frame from the clip's start (ms). */
  timeMs: number;
}

export interface Clip {
  frames: ClipFrame[];
  /** Frame size (px), from the stream header. */
  width: number;
  height: number;
  /** Absent when the clip has no audio track (a camera without a microphone). */
  audio?: Audio;
  /** Length covered by frames and audio (ms). */
  durationMs: number;
  /** Wall-clock time the capture or extraction took (ms). */
  elapsedMs: number;
}

/** A camera that refused, hung up, or sent something ffmpeg could not read. */
export class CaptureError extends Error {
  override readonly name: string = 'CaptureError';
}

/**
 * Clips to model input: N seconds from a camera's RTSP stream, or the frames and sound of
 * MP4/MKV bytes, through one ffmpeg run each (JPEG frames + 16 kHz mono PCM), with a bound
 * on how many run at once.
 */
export class ClipCapture {
  /** Each capture holds a camera connection and an ffmpeg child: a few at once, a few waiting. */
  private readonly limiter: Limiter;

  constructor(
    private readonly runner: FfmpegRunner,
    readonly opts: ClipOptions,
    private readonly log: Logger,
  ) {
    this.limiter = new Limiter('clip captures', opts.maxConcurrent, opts.maxWaiting);
  }

  get active(): number {
    return this.limiter.active;
  }

  /** Runs `task` in a capture slot; beyond the waiting room a CapacityError says no at once. */
  private async limited<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.limiter.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Checks a clip length (s) asked for from outside; returns it as a number. */
  checkSeconds(seconds: unknown): number {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
      throw new InputError(`"seconds" must be a number of seconds, got ${JSON.stringify(seconds)?.slice(0, 40) ?? typeof seconds}`);
    }
    if (seconds <= 0 || seconds > this.opts.maxSeconds) {
      throw new InputError(`"seconds" must be more than 0 and at most ${this.opts.maxSeconds}, got ${seconds}`);
    }
    return seconds;
  }

  /** Captures `seconds` (s) from a camera's RTSP URL over TCP. The URL must come from config. */
  async capture(url: string, seconds: number, signal?: AbortSignal): Promise<Clip> {
    const secs = this.checkSeconds(seconds);
    checkCameraUrl(url);
    const shown = redactUrl(url);
    const o = this.opts;
    const sampling: FrameSampling =
      o.sampling.mode === 'fixed' ? { mode: 'fixed', fps: Math.min(o.sampling.fps, o.maxFrames / secs) } : o.sampling;
    return this.limited(async () => {
      try {
        return await withRtspInput(url, { socketTimeoutMs: o.socketTimeoutMs, legacy: o.legacyRtspTimeout === true, ...(o.tempDir ? { tempDir: o.tempDir } : {}), prefix: 'sarai-rtsp-' }, (input) =>
          this.run(input, secs, sampling, undefined, urlSecrets(url), signal),
        );
      } catch (err) {
        if (!(err instanceof FfmpegError)) throw err;
        const silent = err.stderr.includes('Invalid data') && err.exitCode !== null;
        const why = silent
          ? `the camera sent no valid RTSP answer (silent past the ${(o.socketTimeoutMs / 1000).toFixed(1)} s socket timeout, or not RTSP at all): ${err.message}`
          : err.message;
        throw new CaptureError(`RTSP capture from ${shown} failed: ${redactText(why, urlSecrets(url))}`);
      }
    }, signal);
  }

  /** Extracts frames and audio from MP4/MKV bytes (at most maxSeconds of them). */
  async extract(bytes: Buffer, signal?: AbortSignal): Promise<Clip> {
    const container = sniffContainer(bytes);
    if (!container) throw new InputError('clip bytes are neither MP4 nor Matroska/WebM');
    return this.limited(async () => {
      // an MP4 with its index at the end cannot be read from a pipe: give ffmpeg a private file
      const needsFile = container === 'mp4' && !mp4IndexFirst(bytes);
      const dir = needsFile ? await mkdtemp(join(this.opts.tempDir ?? tmpdir(), 'sarai-clip-')) : undefined;
      const path = dir ? join(dir, 'clip.mp4') : '';
      try {
        let input: FfmpegInput = { kind: 'pipe', format: container };
        if (dir) {
          await writeFile(path, bytes, { mode: 0o600 });
          input = { kind: 'file', path };
        }
        return await this.run(input, this.opts.maxSeconds, this.opts.sampling, dir ? undefined : bytes, [], signal);
      } catch (err) {
        if (err instanceof FfmpegError) {
          const why = err.message.split(dir ? `file:${path}` : 'pipe:0').join('clip');
          throw new InputError(`clip bytes could not be decoded (corrupt or unsupported ${container === 'mp4' ? 'MP4' : 'Matroska'}): ${why}`);
        }
        throw err;
      } finally {
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    }, signal);
  }

  private async run(
    input: FfmpegInput,
    durationS: number,
    sampling: FrameSampling,
    stdin: Buffer | undefined,
    secrets: string[],
    signal: AbortSignal | undefined,
  ): Promise<Clip> {
    const o = this.opts;
    // scene mode may find many changes: take more, then thin them evenly below
    const frameCap = sampling.mode === 'scene' ? o.maxFrames * 4 : Math.ceil(durationS * sampling.fps) + 1;
    const args = buildClipArgs({
      input,
      durationS,
      sampling,
      maxFrames: frameCap,
      frameSize: o.frameSize,
      jpegQuality: o.jpegQuality,
      sampleRate: o.sampleRate,
    });
    const timeoutMs = durationS * 1000 + o.timeoutMarginMs;
    let result;
    try {
      result = await this.runner.run({ args, timeoutMs, secrets, ...(stdin ? { stdin } : {}), ...(signal ? { signal } : {}) });
    } catch (err) {
      if (err instanceof FfmpegError && /does not contain any stream/.test(err.message)) {
        throw new InputError('clip has neither a video nor an audio stream');
      }
      if (err instanceof TimeoutError) throw new TimeoutError(`clip ${input.kind.startsWith('rtsp') ? 'capture' : 'extraction'}: ${err.message}`);
      throw err;
    }
    let mkv;
    try {
      mkv = readMatroska(result.stdout);
    } catch (err) {
      if (err instanceof MatroskaError) throw new CaptureError(`ffmpeg output unreadable: ${err.message}`);
      throw err;
    }
    const video = mkv.tracks.find((t) => t.type === 1);
    const audioTrack = mkv.tracks.find((t) => t.type === 2);
    if (!video) throw new InputError('clip has no video stream: nothing to look at');
    const frames = thin(
      mkv.blocks.filter((b) => b.track === video.number).map((b) => ({ jpeg: Buffer.from(b.data), timeMs: b.timeMs })),
      o.maxFrames,
    );
    if (frames.length === 0) throw new InputError('clip has a video stream but no decodable frames');
    let audio: Audio | undefined;
    if (audioTrack) {
      const pcm = Buffer.concat(mkv.blocks.filter((b) => b.track === audioTrack.number).map((b) => b.data));
      audio = { sampleRate: audioTrack.sampleRate ?? o.sampleRate, samples: pcm16ToFloat(pcm) };
    }
    const audioMs = audio ? (audio.samples.length / audio.sampleRate) * 1000 : 0;
    const lastFrameMs = frames[frames.length - 1]?.timeMs ?? 0;
    this.log.debug({ module: 'clip', frames: frames.length, audio_ms: Math.round(audioMs), ms: Math.round(result.elapsedMs) }, 'clip decoded');
    return {
      frames,
      width: video.width ?? 0,
      height: video.height ?? 0,
      ...(audio ? { audio } : {}),
      durationMs: Math.max(audioMs, lastFrameMs),
      elapsedMs: result.elapsedMs,
    };
  }
}

/** Keeps at most `max` items spread evenly over the list, first and last included. */
export function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  if (max <= 1) return items.slice(0, Math.max(0, max));
  const out: T[] = [];
  for (let i = 0; i < max; i++) {
    const item = items[Math.round((i * (items.length - 1)) / (max - 1))];
    if (item !== undefined) out.push(item);
  }
  return out;
}

