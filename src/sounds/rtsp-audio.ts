import { takesStreams } from '../cluster/streams.js';
import { sleep } from '../core/abort.js';
import type { AppContext } from '../core/context.js';
import { errorMessage, InputError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import { redactUrl } from '../log/logger.js';
import { pcm16ToFloat } from '../media/audio/pcm.js';
import { checkCameraUrl, FfmpegArgs, type FfmpegInput } from '../media/ffmpeg/args.js';
import { FfmpegError, FfmpegRunner } from '../media/ffmpeg/process.js';
import { ffmpegOf } from '../media/ffmpeg/probe.js';
import { withRtspInput } from '../media/ffmpeg/rtsp-input.js';
import { redactText, urlSecrets } from '../media/ffmpeg/stderr.js';
import { soundListenerFor } from './listener.js';
import { WindowQueue } from './window-queue.js';

/** Rate the stream is decoded to: what audio classifiers take (AST, wav2vec2, YAMNet). */
export const RTSP_AUDIO_RATE = 16_000;
/** One ffmpeg run lasts at most this long, then the stream is reopened (bounds any leak in a run). */
const SESSION_MS = 6 * 3600_000;
/** Windows waiting for the model; older ones are dropped when the model is slower than real time. */
const MAX_WAITING = 2;

/** ffmpeg arguments: the first audio track as mono s16le at 16 kHz on stdout, no video decoded. */
export function rtspAudioArgs(input: FfmpegInput): string[] {
  return FfmpegArgs.base()
    .input(input)
    .opt('-map', '0:a:0')
    .flag('-vn')
    .opt('-c:a', 'pcm_s16le')
    .opt('-ac', 1)
    .opt('-ar', RTSP_AUDIO_RATE)
    .opt('-f', 's16le')
    .output('pipe:1')
    .toArray();
}

/** Per camera: what the stream did (tests, logs). */
export interface StreamStats {
  opens: number;
  drops: number;
  windows: number;
  dropped: number;
}

/**
 * Live sound events (cameras.<id>.sound_rtsp): one long ffmpeg run per camera reads its RTSP
 * audio track over TCP and cuts it into windows of audio_events.window_s, each classified by
 * the sound listener. When the stream ends, stalls past clip.socket_timeout_s, or cannot be
 * opened (no audio track, refused), the reason goes to `sarai/error` once per failure and the
 * stream is reopened after audio_events.rtsp_retry_s. The model falling behind drops the oldest
 * windows (never more than MAX_WAITING wait): live audio is only worth hearing now.
 */
export class RtspAudioService implements Service {
  readonly name = 'sounds';
  private runner?: FfmpegRunner;
  private readonly lifetime = new AbortController();
  private readonly loops: Promise<void>[] = [];
  readonly stats = new Map<string, StreamStats>();
  /** camera -> the last classification error reported (not repeated every window) */
  private readonly lastError = new Map<string, string>();

  constructor(private readonly ctx: AppContext) {}

  /** Cameras that listen live: sound_rtsp with an rtsp_url and at least one sound. */
  private cameras(): [string, string][] {
    return Object.entries(this.ctx.config.cameras)
      .filter(([, c]) => c.sound_rtsp && c.rtsp_url && c.sounds.length > 0)
      .map(([id, c]) => [id, c.rtsp_url]);
  }

  ffmpegPids(): number[] {
    return this.runner?.pids() ?? [];
  }

  async start(): Promise<void> {
    // (sound_rtsp without rtsp_url is refused when the config loads)
    for (const [id, c] of Object.entries(this.ctx.config.cameras)) {
      if (c.sound_rtsp && c.sounds.length === 0) this.ctx.log.warn({ module: this.name, camera: id }, `cameras.${id}.sound_rtsp needs sounds to listen for: not listening`);
    }
    const cams = this.cameras();
    if (cams.length === 0) return;
    if (!takesStreams(this.ctx.config)) {
      // the workers of a group often share one config: each listening would alert once per worker
      this.ctx.log.info({ module: this.name, group: this.ctx.config.cluster.group, cameras: cams.map(([c]) => c) }, 'sound_rtsp: the group\'s cluster.voice_streams worker listens to live camera audio, not this one');
      return;
    }
    let legacy = false;
    try {
      const ffmpeg = await ffmpegOf(this.ctx);
      legacy = ffmpeg.legacy;
      this.runner = new FfmpegRunner(ffmpeg.path, this.ctx.log);
    } catch (err) {
      this.ctx.log.error({ module: this.name, err: errorMessage(err) }, 'live sound events disabled: no ffmpeg');
      return;
    }
    for (const [camera, url] of cams) {
      const stats: StreamStats = { opens: 0, drops: 0, windows: 0, dropped: 0 };
      this.stats.set(camera, stats);
      this.loops.push(this.loop(camera, url, legacy, stats));
    }
    this.ctx.log.info({ module: this.name, cameras: cams.map(([c]) => c) }, 'listening to RTSP audio');
  }

  async stop(): Promise<void> {
    this.lifetime.abort();
    await this.runner?.dispose();
    await Promise.allSettled(this.loops);
  }

  private async loop(camera: string, url: string, legacy: boolean, stats: StreamStats): Promise<void> {
    const signal = this.lifetime.signal;
    const origin = `rtsp:${camera}`;
    while (!signal.aborted) {
      stats.opens++;
      try {
        await this.session(camera, url, legacy, stats);
        if (signal.aborted) return;
        throw new InputError(`camera ${camera}: the RTSP audio from ${redactUrl(url)} ended`);
      } catch (err) {
        if (signal.aborted) return;
        stats.drops++;
        const retry = this.ctx.config.audio_events.rtsp_retry_s;
        this.ctx.errors.report(this.name, origin, new InputError(`${errorMessage(err)}; listening again in ${retry} s`));
      }
      await sleep(this.ctx.config.audio_events.rtsp_retry_s * 1000, signal);
    }
  }

  /** One ffmpeg run, until the stream ends or fails; windows go to the listener as they fill. */
  private async session(camera: string, url: string, legacy: boolean, stats: StreamStats): Promise<void> {
    const runner = this.runner;
    if (!runner) return;
    checkCameraUrl(url);
    const windowBytes = Math.round(this.ctx.config.audio_events.window_s * RTSP_AUDIO_RATE) * 2;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const queue = new WindowQueue(
      MAX_WAITING,
      (samples) => this.classify(camera, samples),
      () => {
        stats.dropped++;
        soundListenerFor(this.ctx).windows.inc({ camera, outcome: 'dropped' });
      },
    );
    const rtsp = { socketTimeoutMs: this.ctx.config.clip.socket_timeout_s * 1000, legacy, prefix: 'sarai-rtsp-audio-' };
    try {
      await withRtspInput(url, rtsp, (input) =>
        runner.run({
          args: rtspAudioArgs(input),
          timeoutMs: SESSION_MS,
          signal: this.lifetime.signal,
          secrets: urlSecrets(url),
          onStdout: (chunk) => {
            pending.push(chunk);
            pendingBytes += chunk.length;
            while (pendingBytes >= windowBytes) {
              const all = Buffer.concat(pending);
              const win = all.subarray(0, windowBytes);
              pending = [all.subarray(windowBytes)];
              pendingBytes = all.length - windowBytes;
              stats.windows++;
              queue.push(pcm16ToFloat(win));
            }
          },
        }),
      );
    } catch (err) {
      if (!(err instanceof FfmpegError)) throw err;
      const why = /matches no streams/i.test(err.message)
        ? `the stream has no audio track (cameras.${camera}.sound_rtsp needs a camera with a microphone)`
        : redactText(err.message, urlSecrets(url));
      throw new InputError(`camera ${camera}: RTSP audio from ${redactUrl(url)} failed: ${why}`);
    } finally {
      await queue.idle();
    }
  }

  /**
   * One window through the listener. A failing model fails every window (one each window_s):
   * its error is reported once, again only when it changes or after a window succeeded.
   */
  private async classify(camera: string, samples: Float32Array): Promise<void> {
    try {
      await soundListenerFor(this.ctx).listen(camera, { sampleRate: RTSP_AUDIO_RATE, samples }, 'rtsp', this.lifetime.signal);
      this.lastError.delete(camera);
    } catch (err) {
      if (this.lifetime.signal.aborted) return;
      // countdowns ("probe in 3 s") differ from window to window: compare without numbers
      const msg = errorMessage(err).replace(/\d+/g, '#');
      if (this.lastError.get(camera) === msg) {
        this.ctx.log.debug({ module: this.name, camera, err: errorMessage(err) }, 'window not classified (same error as before)');
        return;
      }
      this.lastError.set(camera, msg);
      this.ctx.errors.report(this.name, `rtsp:${camera}`, err);
    }
  }
}
