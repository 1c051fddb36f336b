import sharp from 'sharp';
import type { Audio } from '../backends/types.js';
import { CAMERA_RESULT_SCHEMA, type CameraModelAnswer } from '../core/camera-schema.js';
import type { AppContext } from '../core/context.js';
import { BackendError, CapacityError, InputError, TimeoutError, errorMessage } from '../core/errors.js';
import type { ModelRouter } from '../router/types.js';
import { HttpError, readBody, sendJson } from './respond.js';

/** Upload limits for the "Try it" page (bytes, characters). */
export const TRY_LIMITS = { imageBytes: 10 * 1_048_576, wavBytes: 32 * 1_048_576, jsonBytes: 64 * 1024, textChars: 4_000 };

/** The router, once the router feature has put it on the context. */
function routerOf(ctx: AppContext): ModelRouter {
  const r = (ctx as unknown as { router?: ModelRouter }).router;
  if (!r) throw new HttpError(503, 'no model router is running (configure models in the add-on options)');
  return r;
}

/** JPEG, PNG or WebP by magic bytes; anything else is refused before any decoder sees it. */
export function imageKind(buf: Buffer): 'jpeg' | 'png' | 'webp' | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/**
 * A RIFF/WAVE file (PCM 8/16/24/32-bit or float32, any channel count) as mono float samples.
 * Throws InputError naming what is wrong.
 */
export function readWav(buf: Buffer): Audio {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new InputError('not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const start = off + 8;
    if (id === 'fmt ' && size >= 16 && start + 16 <= buf.length) {
      fmt = { format: buf.readUInt16LE(start), channels: buf.readUInt16LE(start + 2), rate: buf.readUInt32LE(start + 4), bits: buf.readUInt16LE(start + 14) };
      if (fmt.format === 0xfffe && size >= 26) fmt.format = buf.readUInt16LE(start + 24); // WAVE_FORMAT_EXTENSIBLE
    } else if (id === 'data') {
      if (!fmt) throw new InputError('WAV data chunk before its fmt chunk');
      const { format, channels, rate, bits } = fmt;
      const pcm = format === 1 && [8, 16, 24, 32].includes(bits);
      const float = format === 3 && bits === 32;
      if (!pcm && !float) throw new InputError(`unsupported WAV encoding (format ${format}, ${bits} bits): use PCM or float32`);
      if (channels < 1 || channels > 8 || rate < 4_000 || rate > 192_000) throw new InputError(`unsupported WAV layout: ${channels} channels at ${rate} Hz`);
      const bytes = bits / 8;
      const end = Math.min(buf.length, start + size);
      const frames = Math.floor((end - start) / (bytes * channels));
      if (frames === 0) throw new InputError('the WAV file holds no audio');
      const samples = new Float32Array(frames);
      for (let f = 0; f < frames; f++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          const p = start + (f * channels + c) * bytes;
          if (float) sum += buf.readFloatLE(p);
          else if (bits === 8) sum += (buf.readUInt8(p) - 128) / 128;
          else if (bits === 16) sum += buf.readInt16LE(p) / 32768;
          else if (bits === 24) sum += buf.readIntLE(p, 3) / 8388608;
          else sum += buf.readInt32LE(p) / 2147483648;
        }
        samples[f] = sum / channels;
      }
      return { sampleRate: rate, samples };
    }
    off = start + size + (size % 2);
  }
  throw new InputError(fmt ? 'the WAV file has no data chunk' : 'the WAV file has no fmt chunk');
}

/** Backend failures become HTTP answers a person can act on. */
function asHttp(err: unknown): never {
  if (err instanceof HttpError) throw err;
  if (err instanceof InputError) throw new HttpError(400, err.message);
  if (err instanceof CapacityError) throw new HttpError(503, err.message);
  if (err instanceof TimeoutError) throw new HttpError(504, err.message);
  if (err instanceof BackendError) throw new HttpError(502, err.message);
  throw err;
}

function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/s.exec(text.trim());
  return (m?.[1] ?? text.trim()).slice(0, 255);
}

function isCameraAnswer(v: unknown): v is CameraModelAnswer {
  return v !== null && typeof v === 'object' && typeof (v as CameraModelAnswer).summary === 'string';
}

/** POST /api/ask, /api/describe, /api/transcribe: the dashboard's "Try it" page. */
export function registerTryRoutes(ctx: AppContext): void {
  const { http } = ctx;

  http.route('POST', '/api/ask', async ({ req, res }) => {
    const body = await readBody(req, TRY_LIMITS.jsonBytes);
    let text: unknown;
    try {
      text = (JSON.parse(body.toString('utf8')) as { text?: unknown }).text;
    } catch {
      throw new HttpError(400, 'send JSON {"text": "..."}');
    }
    if (typeof text !== 'string' || !text.trim()) throw new HttpError(400, 'text must be a non-empty string');
    if (text.length > TRY_LIMITS.textChars) throw new HttpError(413, `text is longer than ${TRY_LIMITS.textChars} characters`);
    const router = routerOf(ctx);
    try {
      const r = await router.answer(text.trim());
      sendJson(res, 200, { text: r.value.text, route: r.route, route_reason: r.reason, model: r.model, latency_ms: Math.round(r.latencyMs), tokens: r.value.tokens });
    } catch (err) {
      asHttp(err);
    }
  });

  http.route('POST', '/api/describe', async ({ req, res }) => {
    const body = await readBody(req, TRY_LIMITS.imageBytes);
    const kind = imageKind(body);
    if (!kind) throw new HttpError(415, 'not an image: upload a JPEG, PNG or WebP file');
    let jpeg: Buffer;
    try {
      // re-encoding also proves the file decodes; the models take JPEG
      jpeg = kind === 'jpeg' ? body : await sharp(body, { limitInputPixels: 50_000_000 }).jpeg({ quality: 88 }).toBuffer();
      if (kind === 'jpeg') await sharp(body, { limitInputPixels: 50_000_000 }).metadata();
    } catch (err) {
      throw new HttpError(422, `the ${kind.toUpperCase()} image cannot be decoded: ${errorMessage(err)}`);
    }
    const router = routerOf(ctx);
    try {
      const r = await router.describe({ prompt: ctx.config.camera_defaults.prompt, images: [jpeg], jsonSchema: CAMERA_RESULT_SCHEMA as unknown as Record<string, unknown> });
      const ans = isCameraAnswer(r.value.json) ? r.value.json : undefined;
      const text = r.value.text.trim();
      sendJson(res, 200, {
        summary: ans?.summary ?? firstSentence(text),
        description: ans?.description ?? text,
        objects: ans?.objects ?? [],
        alert: ans?.alert ?? false,
        severity: ans?.severity ?? 'none',
        route: r.route,
        route_reason: r.reason,
        model: r.model,
        latency_ms: Math.round(r.latencyMs),
      });
    } catch (err) {
      asHttp(err);
    }
  });

  http.route('POST', '/api/transcribe', async ({ req, res }) => {
    const body = await readBody(req, TRY_LIMITS.wavBytes);
    let audio: Audio;
    try {
      audio = readWav(body);
    } catch (err) {
      throw new HttpError(415, errorMessage(err));
    }
    const seconds = audio.samples.length / audio.sampleRate;
    if (seconds > ctx.config.voice.max_utterance_s) {
      throw new HttpError(413, `the recording is ${seconds.toFixed(1)} s; the limit is ${ctx.config.voice.max_utterance_s} s (voice.max_utterance_s)`);
    }
    const router = routerOf(ctx);
    try {
      const r = await router.transcribe(audio);
      sendJson(res, 200, { text: r.value.text, route: r.route, route_reason: r.reason, model: r.model, latency_ms: Math.round(r.latencyMs), duration_s: Math.round(seconds * 100) / 100 });
    } catch (err) {
      asHttp(err);
    }
  });
}
