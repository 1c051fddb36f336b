import { InputError } from '../../core/errors.js';

/**
 * A small typed ffmpeg command-line builder. Every value ends up as one element of the
 * argument array handed to spawn (never a shell), and every input carries a protocol
 * whitelist so a URL can never make ffmpeg open a file, http or anything else we did not pick.
 */

/** Protocols ffmpeg may use per input kind (RTSP over TCP needs tcp, rtsps needs tls). */
export const PROTOCOLS = {
  rtsp: ['rtsp', 'rtsps', 'tcp', 'tls'],
  pipe: ['pipe'],
  file: ['file'],
  /** An ffconcat list (a local file) naming a camera URL: see rtspListFile. */
  rtspList: ['file', 'rtsp', 'rtsps', 'tcp', 'tls'],
} as const;

export type FfmpegInput =
  /** A camera stream, always over TCP (interleaved): UDP through NAT and Docker loses packets. */
  | { kind: 'rtsp'; url: string; socketTimeoutMs: number; legacyTimeout?: boolean }
  /** Bytes written to ffmpeg's stdin. */
  | { kind: 'pipe'; format?: 'matroska' | 'mp4' }
  /** A local file we wrote ourselves (MP4 whose index sits at the end needs seeking). */
  | { kind: 'file'; path: string }
  /** A camera whose URL carries credentials, named in a private ffconcat file (rtspListFile). */
  | { kind: 'rtsp-list'; path: string };

const CAMERA_SCHEMES = new Set(['rtsp:', 'rtsps:']);

/**
 * Checks a camera URL before it reaches ffmpeg: rtsp or rtsps, a host, no whitespace or
 * control characters, nothing ffmpeg could read as an option. Returns the parsed URL.
 */
export function checkCameraUrl(url: string): URL {
  // eslint-disable-next-line no-control-regex
  if (url.length === 0 || url.length > 2048 || /[\s\u0000-\u001f\u007f]/.test(url) || url.startsWith('-')) {
    throw new InputError('camera URL is empty, too long, or contains whitespace/control characters');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError('camera URL is not a valid URL');
  }
  if (!CAMERA_SCHEMES.has(parsed.protocol)) {
    throw new InputError(`camera URL scheme ${JSON.stringify(parsed.protocol)} is not allowed: use rtsp:// or rtsps://`);
  }
  if (!parsed.hostname) throw new InputError('camera URL has no host');
  return parsed;
}

/**
 * The text of an ffconcat list that makes ffmpeg open one camera URL with our RTSP options.
 * A URL with a password must never be on ffmpeg's command line (`ps` and
 * /proc/<pid>/cmdline are world-readable); a 0600 file is not. ffmpeg >= 5.0 reads per-file
 * `option` lines (Debian 12 has 5.1).
 */
export function rtspListFile(url: string, socketTimeoutMs: number, legacyTimeout = false): string {
  checkCameraUrl(url);
  // inside single quotes ffmpeg's tokenizer knows no escapes: close, escape, reopen
  const quoted = `'${url.replace(/'/g, "'\\''")}'`;
  return [
    'ffconcat version 1.0',
    `file ${quoted}`,
    'option rtsp_transport tcp',
    `option ${legacyTimeout ? 'stimeout' : 'timeout'} ${microseconds(socketTimeoutMs)}`,
    '',
  ].join('\n');
}

/** True when a camera URL carries a user name or password. */
export function hasCredentials(url: string): boolean {
  const u = new URL(url);
  return u.username !== '' || u.password !== '';
}

/** ms -> the microseconds ffmpeg's socket options take. */
export function microseconds(ms: number): string {
  return String(Math.max(1, Math.round(ms * 1000)));
}

export class FfmpegArgs {
  private readonly list: string[] = [];

  /** Quiet, non-interactive defaults: errors only, no stats, never read the terminal. */
  static base(): FfmpegArgs {
    return new FfmpegArgs().flag('-hide_banner').flag('-nostats').opt('-loglevel', 'error');
  }

  flag(name: `-${string}`): this {
    this.list.push(name);
    return this;
  }

  opt(name: `-${string}`, value: string | number): this {
    const v = String(value);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000\n\r]/.test(v)) throw new InputError(`ffmpeg option ${name}: value contains control characters`);
    this.list.push(name, v);
    return this;
  }

  /** `-protocol_whitelist ... [-timeout µs] -i <input>`; -t (s) limits how much is read. */
  input(input: FfmpegInput, durationS?: number): this {
    if (input.kind === 'rtsp') {
      checkCameraUrl(input.url);
      this.opt('-protocol_whitelist', PROTOCOLS.rtsp.join(','))
        .opt('-rtsp_transport', 'tcp')
        // ffmpeg < 5 names the socket timeout -stimeout (its -timeout means "listen")
        .opt(input.legacyTimeout ? '-stimeout' : '-timeout', microseconds(input.socketTimeoutMs));
    } else if (input.kind === 'rtsp-list') {
      this.opt('-protocol_whitelist', PROTOCOLS.rtspList.join(',')).opt('-f', 'concat').opt('-safe', 0);
    } else {
      this.opt('-protocol_whitelist', PROTOCOLS[input.kind].join(','));
      if (input.kind === 'pipe' && input.format) this.opt('-f', input.format);
    }
    if (durationS !== undefined) this.opt('-t', durationS.toFixed(3));
    const target = input.kind === 'rtsp' ? input.url : input.kind === 'pipe' ? 'pipe:0' : `file:${input.path}`;
    return this.opt('-i', target);
  }

  /** Where the output goes: only our own pipes, never a path or URL. */
  output(target: 'pipe:1'): this {
    this.list.push(target);
    return this;
  }

  toArray(): string[] {
    return [...this.list];
  }
}

/** How frames are picked from the video. */
export type FrameSampling = { mode: 'fixed'; fps: number } | { mode: 'scene'; threshold: number };

export interface ClipArgsSpec {
  input: FfmpegInput;
  /** Seconds of input to read. */
  durationS: number;
  sampling: FrameSampling;
  /** Hard bound on JPEG frames written. */
  maxFrames: number;
  /** Longest side of a frame (px); smaller frames are not scaled up. */
  frameSize: number;
  /** mjpeg qscale: 2 (best) .. 31. */
  jpegQuality: number;
  /** Audio out: mono PCM s16le at this rate (Hz). */
  sampleRate: number;
}

/**
 * One ffmpeg run that writes a Matroska stream to stdout: the first video stream as JPEG
 * frames and the first audio stream as mono s16le PCM. Both maps are optional (`?`), so a
 * camera without a microphone still gives frames, and one process serves both outputs.
 */
export function buildClipArgs(spec: ClipArgsSpec): string[] {
  const size = Math.round(spec.frameSize);
  const pick =
    spec.sampling.mode === 'fixed'
      ? `fps=${spec.sampling.fps.toFixed(4)}`
      : // the first frame always, then frames that differ from the previous one by > threshold
        `select='eq(n,0)+gt(scene,${spec.sampling.threshold.toFixed(3)})'`;
  const scale = `scale=w='min(iw,${size})':h='min(ih,${size})':force_original_aspect_ratio=decrease:force_divisible_by=2`;
  return FfmpegArgs.base()
    .input(spec.input, spec.durationS)
    .opt('-map', '0:v:0?')
    .opt('-map', '0:a:0?')
    .opt('-vf', `${pick},${scale}`)
    .opt('-frames:v', Math.max(1, Math.floor(spec.maxFrames)))
    .opt('-c:v', 'mjpeg')
    .opt('-q:v', Math.round(spec.jpegQuality))
    .opt('-c:a', 'pcm_s16le')
    .opt('-ac', 1)
    .opt('-ar', Math.round(spec.sampleRate))
    .opt('-f', 'matroska')
    .output('pipe:1')
    .toArray();
}
