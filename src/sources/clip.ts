import { linkSignals } from '../core/abort.js';
import { ANSWER_FORMAT } from '../camera/answer.js';
import { judgeAnswer, newResultId } from '../camera/describe.js';
import { routerOf } from '../camera/router-access.js';
import { cameraSettings, type CameraSettings } from '../camera/settings.js';
import type { Config } from '../config/schema/index.js';
import { CAMERA_RESULT_SCHEMA } from '../core/camera-schema.js';
import type { AppContext } from '../core/context.js';
import { errorMessage, InputError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import type { CameraResult } from '../core/results.js';
import { ClipCapture, type Clip, type ClipOptions } from '../media/clip/capture.js';
import { sniffContainer } from '../media/clip/container.js';
import { ffmpegOf } from '../media/ffmpeg/probe.js';
import { FfmpegRunner } from '../media/ffmpeg/process.js';
import type { IncomingMessage } from '../mqtt/client.js';
import { INPUT_SUBSCRIBE, cameraFilters, isCameraInput, levelsBelow } from '../mqtt/input-topics.js';
import { checkId } from '../mqtt/topics.js';
import { publishCameraResult } from '../publishers/camera/publish.js';
import { schedulerFor } from '../scheduler/index.js';
import { soundListenerFor } from '../sounds/listener.js';
import type { JobOutcome } from '../scheduler/job.js';
import { letGoOfCurrentInput } from '../mqtt/receipt.js';

/** What a clip message asks for. */
export type ClipRequest =
  /** Capture from the camera's configured rtsp_url; seconds absent: cameras.<id>.clip_seconds. */
  | { kind: 'capture'; seconds?: number; id?: string }
  /** Extract from the MP4/MKV bytes of the message. */
  | { kind: 'bytes'; container: 'mp4' | 'matroska' };

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;
const URL_KEYS = new Set(['url', 'rtsp_url', 'uri', 'src', 'source', 'stream', 'path', 'file']);
const JOB_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const NEVER_OPENED = 'a URL in a clip payload is never opened: set cameras.<camera>.rtsp_url in the config and send {"seconds": N}';

/**
 * Reads a `camera/<id>/clip` payload: MP4/MKV bytes, or JSON `{"seconds": N, "id"?: "..."}`.
 * Anything that names a URL or a path is refused: only a camera's configured URL is opened.
 */
export function parseClipPayload(payload: Buffer): ClipRequest {
  const container = sniffContainer(payload);
  if (container) return { kind: 'bytes', container };
  const text = payload.toString('utf8').trim();
  if (text.length === 0) throw new InputError('empty clip payload: send {"seconds": N} or MP4/MKV bytes');
  if (URL_LIKE.test(text) || text.startsWith('/')) throw new InputError(NEVER_OPENED);
  if (!text.startsWith('{') && !text.startsWith('[')) throw new InputError('clip payload must be JSON {"seconds": N} or the bytes of an MP4/MKV file');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputError('clip payload is not valid JSON: send {"seconds": N}');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError('clip payload must be a JSON object {"seconds": N}');
  const obj = doc as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (URL_KEYS.has(k.toLowerCase()) || (typeof v === 'string' && URL_LIKE.test(v))) throw new InputError(NEVER_OPENED);
  }
  const extra = Object.keys(obj).filter((k) => k !== 'seconds' && k !== 'id');
  if (extra.length > 0) throw new InputError(`unknown key(s) in clip payload: ${extra.slice(0, 5).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}; allowed: seconds, id`);
  const req: ClipRequest = { kind: 'capture' };
  if ('seconds' in obj) {
    const s = obj.seconds;
    if (typeof s !== 'number' || !Number.isFinite(s)) throw new InputError(`"seconds" must be a number of seconds, got ${JSON.stringify(s)?.slice(0, 40) ?? 'nothing'}`);
    req.seconds = s;
  }
  if ('id' in obj) {
    if (typeof obj.id !== 'string' || !JOB_ID.test(obj.id)) throw new InputError('"id" must be 1-64 characters of A-Z, a-z, 0-9, _ . : -');
    req.id = obj.id;
  }
  return req;
}

/** config.clip -> capture options. */
export function clipOptions(config: Config): ClipOptions {
  const c = config.clip;
  return {
    maxSeconds: c.max_seconds,
    sampling: c.frame_mode === 'scene' ? { mode: 'scene', threshold: c.scene_threshold } : { mode: 'fixed', fps: c.frame_rate },
    maxFrames: c.max_frames,
    frameSize: c.frame_size,
    jpegQuality: c.jpeg_quality,
    sampleRate: 16_000,
    socketTimeoutMs: c.socket_timeout_s * 1000,
    timeoutMarginMs: c.timeout_margin_s * 1000,
    maxConcurrent: c.max_concurrent,
    maxWaiting: c.max_waiting,
  };
}

/** The prompt for a clip: the camera's own question, how the frames and sound relate, the answer shape. */
export function clipPrompt(cam: Pick<CameraSettings, 'prompt' | 'name'>, clip: Clip): string {
  const times = clip.frames.map((f) => (f.timeMs / 1000).toFixed(1)).join(', ');
  const secs = (clip.durationMs / 1000).toFixed(1);
  const sound = clip.audio ? 'The sound of the clip is attached as audio: say what you hear as well.' : 'The clip has no sound.';
  return [
    cam.prompt,
    `The ${clip.frames.length} images are frames of a ${secs} s video clip from the camera "${cam.name}", in time order (at ${times} s). ${sound} Describe what happens over time, not each frame.`,
    ANSWER_FORMAT,
  ].join('\n');
}

/** Where a clip came from, for the result and sarai/error. */
export interface ClipOrigin {
  /** Topic or other origin shown in sarai/error. */
  origin: string;
  /** Motion triggers: a newer trigger replaces one still waiting, and the camera's cooldown applies. */
  motion?: boolean;
}

/** Results from these sources mean "something moved" (HA motion_entity, Frigate events). */
const MOTION_SOURCES = new Set<CameraResult['source']>(['homeassistant', 'frigate']);

/**
 * `<base>/camera/<camera>/clip`: a few seconds from the camera's configured RTSP URL (JSON
 * `{"seconds": N}`) or the MP4/MKV bytes of the message, turned into frames + 16 kHz sound by
 * one ffmpeg run, described through the router (omni hears the sound; a vision model gets the
 * frames only and route_reason says the audio was dropped), and published as a camera result
 * with the middle frame as its image. Jobs go through the shared scheduler (one clip per
 * camera at a time); ffmpeg children are bounded (clip.max_concurrent) and killed on stop.
 */
export class ClipSource implements Service {
  readonly name = 'clip';
  private runner?: FfmpegRunner;
  private capture?: ClipCapture;
  private unavailable?: string;
  private off: (() => void)[] = [];
  private readonly lifetime = new AbortController();

  constructor(private readonly ctx: AppContext) {}

  /** pids of ffmpeg children running now (tests assert none are left). */
  ffmpegPids(): number[] {
    return this.runner?.pids() ?? [];
  }

  async start(): Promise<void> {
    try {
      // found and version-probed once for the bridge (live camera audio uses it too)
      const { path, source, major, legacy } = await ffmpegOf(this.ctx);
      this.runner = new FfmpegRunner(path, this.ctx.log);
      this.capture = new ClipCapture(this.runner, { ...clipOptions(this.ctx.config), ...(legacy ? { legacyRtspTimeout: true } : {}) }, this.ctx.log);
      this.ctx.log.info({ module: this.name, ffmpeg: path, from: source, version: major }, 'clip capture ready');
      if (legacy && Object.values(this.ctx.config.cameras).some((c) => c.rtsp_url && /^[a-z]+:\/\/[^/@]*@/i.test(c.rtsp_url))) {
        this.ctx.log.warn({ module: this.name, version: major }, 'ffmpeg older than 5 cannot take camera credentials from a file: they are visible on its command line; install ffmpeg 5 or later');
      }
    } catch (err) {
      // the rest of the bridge runs without clips; every clip request then says why
      this.unavailable = errorMessage(err);
      this.ctx.log.error({ module: this.name, err: this.unavailable }, 'clips disabled');
    }
    const mqtt = this.ctx.mqtt;
    const handle = (m: IncomingMessage): void => this.onMessage(m);
    // the catch-all every camera input shares; in cluster mode `camera/+/clip`, shared across
    // the workers (see cameraFilters). Other shapes are InputTopicGuard's to report
    for (const f of cameraFilters('clip', !!this.ctx.config.cluster.group)) this.off.push(mqtt.subscribe(mqtt.topic(f), this.name, handle, 1, true, INPUT_SUBSCRIBE));
    // clip_on_motion: a motion-triggered snapshot result (HA or Frigate) also takes a clip
    this.off.push(this.ctx.bus.on('camera.result', this.name, ({ result }) => this.onMotion(result)));
  }

  private onMotion(result: CameraResult): void {
    if (!MOTION_SOURCES.has(result.source)) return;
    const cam = this.ctx.config.cameras[result.camera];
    if (!cam?.clip_on_motion || !cam.rtsp_url) return;
    const origin = `motion:${result.source}:${result.camera}`;
    try {
      this.submit(result.camera, { kind: 'capture' }, Buffer.alloc(0), { origin, motion: true });
    } catch (err) {
      this.refused(origin, err);
    }
  }

  async stop(): Promise<void> {
    for (const f of this.off) f();
    this.off = [];
    this.lifetime.abort();
    await this.runner?.dispose();
  }

  /** One clip message; never throws (refusals go to `<base>/error`). */
  onMessage(m: IncomingMessage): void {
    if (!isCameraInput(levelsBelow(this.ctx.mqtt.baseTopic, m.topic), 'clip')) return;
    if (m.retain) {
      this.ctx.log.debug({ module: this.name, topic: m.topic }, 'retained clip request ignored (it would replay on every restart)');
      return;
    }
    const prefix = this.ctx.mqtt.topic('camera/');
    const camera = m.topic.slice(prefix.length, -'/clip'.length);
    try {
      const req = parseClipPayload(m.payload);
      // "capture now" run again after a restart would record another moment: not kept in the spool
      if (req.kind === 'capture') letGoOfCurrentInput();
      this.submit(camera, req, m.payload, { origin: m.topic });
    } catch (err) {
      this.refused(m.topic, err);
    }
  }

  /**
   * A clip refused before it was queued. Bad input counts as `rejected`, like a snapshot
   * refused at intake, so the clip counters add up; a CapacityError was already counted
   * `dropped` by the scheduler.
   */
  private refused(origin: string, err: unknown): void {
    if (err instanceof InputError) schedulerFor(this.ctx).scheduler.counters.inc('rejected', 'clip');
    this.ctx.errors.report(this.name, origin, err);
  }

  /**
   * Queues one clip for `camera` (untrusted: checked here). `bytes`: the MP4/MKV for a
   * `bytes` request. Motion triggers (clip_on_motion) call this with `{kind: 'capture'}`.
   * Throws InputError/CapacityError for what is refused at once; later failures are reported.
   */
  submit(cameraId: unknown, req: ClipRequest, bytes: Buffer, from: ClipOrigin): void {
    const camera = checkId('camera', cameraId);
    if (!this.capture) throw new InputError(`clips are disabled: ${this.unavailable ?? 'the clip source is not started'}`);
    const capture = this.capture;
    const rtspUrl = this.ctx.config.cameras[camera]?.rtsp_url ?? '';
    let seconds = 0;
    if (req.kind === 'capture') {
      if (!rtspUrl) throw new InputError(`camera ${camera} has no rtsp_url configured; set cameras.${camera}.rtsp_url to capture clips from it`);
      seconds = capture.checkSeconds(req.seconds ?? this.ctx.config.cameras[camera]?.clip_seconds);
    }
    // A CapacityError (no room) is counted as dropped by the scheduler and reported by our caller.
    schedulerFor(this.ctx).scheduler.submit({
      kind: 'clip',
      source: `clip:${camera}`,
      bytes: bytes.length,
      ...(from.motion ? { coalesce: true, cooldownMs: cameraSettings(this.ctx.config, camera).cooldownMs } : {}),
      run: async (jobSignal): Promise<JobOutcome> => {
        const { signal, unlink } = linkSignals([jobSignal, this.lifetime.signal]);
        try {
          const clip = req.kind === 'capture' ? await capture.capture(rtspUrl, seconds, signal) : await capture.extract(bytes, signal);
          // sounds are announced while the model describes the frames: alert first, words after
          const heard = this.listen(camera, clip, from.origin, signal);
          await this.analyse(camera, clip, req.kind === 'capture' ? req.id : undefined, signal);
          await heard;
          return 'completed';
        } catch (err) {
          // a stop (SIGTERM) kills ffmpeg: say so, not just "ffmpeg run aborted"
          const stopping = this.lifetime.signal.aborted && !(err instanceof InputError);
          this.ctx.errors.report(this.name, from.origin, stopping ? new Error(`the clip from camera ${camera} was not finished: SARAi is stopping (${errorMessage(err)})`) : err);
          if (err instanceof InputError) return 'rejected';
          throw err;
        } finally {
          unlink();
        }
      },
    });
  }

  /** The clip's sound, for the sounds the camera listens for (cameras.<id>.sounds); never throws. */
  private async listen(camera: string, clip: Clip, origin: string, signal: AbortSignal): Promise<void> {
    const sounds = soundListenerFor(this.ctx);
    if (sounds.soundsOf(camera).length === 0) return;
    if (!clip.audio) {
      // a camera without a microphone is not an error; the result's route_reason says it too
      this.ctx.log.info({ module: this.name, camera }, 'clip has no audio track: no sound events from it');
      return;
    }
    try {
      await sounds.listen(camera, clip.audio, 'clip', signal);
    } catch (err) {
      if (!signal.aborted) this.ctx.errors.report('sounds', origin, err);
    }
  }

  /** Clip -> router.describe (frames + sound) -> camera result, published with the middle frame. */
  async analyse(camera: string, clip: Clip, id?: string, signal?: AbortSignal): Promise<CameraResult> {
    const cam = cameraSettings(this.ctx.config, camera);
    const started = performance.now();
    const routed = await routerOf(this.ctx).describe({
      prompt: clipPrompt(cam, clip),
      images: clip.frames.map((f) => f.jpeg),
      ...(clip.audio ? { audio: clip.audio } : {}),
      jsonSchema: CAMERA_RESULT_SCHEMA as unknown as Record<string, unknown>,
      ...(signal ? { signal } : {}),
    });
    const now = new Date();
    const took = `${clip.frames.length} frames${clip.audio ? ` + ${((clip.audio.samples.length / clip.audio.sampleRate) || 0).toFixed(1)} s audio` : ' (clip has no audio track)'}`;
    const result: CameraResult = {
      id: id ?? newResultId(now.getTime()),
      camera,
      ...judgeAnswer(cam, routed.value, {}, now),
      route: `clip:${routed.route}`,
      route_reason: `${took}: ${routed.reason}`,
      model: routed.model,
      latency_ms: Math.round(clip.elapsedMs + (performance.now() - started)),
      ts: now.toISOString(),
      // always 'clip' (also for motion triggers): a clip result must never look like motion again
      source: 'clip',
    };
    const key = clip.frames[Math.floor(clip.frames.length / 2)]?.jpeg;
    await publishCameraResult(this.ctx, result, key);
    return result;
  }
}
