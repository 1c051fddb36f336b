import type http from 'node:http';
import { describeSnapshot } from '../camera/describe.js';
import { cameraSettings, imageSizeFor } from '../camera/settings.js';
import type { AppContext } from '../core/context.js';
import { BackendError, CapacityError, InputError, TimeoutError, errorMessage } from '../core/errors.js';
import { toSpeechAudio } from '../media/audio/convert.js';
import { readWav, type WavAudio } from '../media/audio/wav-reader.js';
import { prepareImage } from '../media/image.js';
import { sniffImage } from '../media/image-magic.js';
import { bridgeAskGenerate } from '../sources/ask-history.js';
import { HttpError, readBody, sendJson } from './respond.js';

/** Camera id the try-it results carry (never published, never stored in the timeline). */
const TRY_CAMERA = 'try_it';

/** Upload limits for the "Try it" page (bytes, characters). */
export const TRY_LIMITS = { imageBytes: 10 * 1_048_576, wavBytes: 32 * 1_048_576, jsonBytes: 64 * 1024, textChars: 4_000 };

/**
 * Content types a cross-site page can send without a CORS preflight. Refusing them means a
 * random web page in the user's browser cannot make the bridge run models (we answer no
 * preflight, so the browser never sends the real request).
 */
const SIMPLE_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];
export function refuseSimpleContentType(req: http.IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!type || SIMPLE_TYPES.includes(type)) throw new HttpError(415, `send the body with its own content type (application/json, image/..., audio/wav), not "${type || 'none'}"`);
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

/** POST /api/ask, /api/describe, /api/transcribe: the dashboard's "Try it" page. */
export function registerTryRoutes(ctx: AppContext): void {
  const { http } = ctx;
  // the same answer as sarai/ask: questions about past events come from the timeline
  const ask = bridgeAskGenerate(ctx);

  http.route('POST', '/api/ask', async ({ req, res }) => {
    refuseSimpleContentType(req);
    const body = await readBody(req, TRY_LIMITS.jsonBytes);
    let text: unknown;
    try {
      text = (JSON.parse(body.toString('utf8')) as { text?: unknown }).text;
    } catch {
      throw new HttpError(400, 'send JSON {"text": "..."}');
    }
    if (typeof text !== 'string' || !text.trim()) throw new HttpError(400, 'text must be a non-empty string');
    if (text.length > TRY_LIMITS.textChars) throw new HttpError(413, `text is longer than ${TRY_LIMITS.textChars} characters`);
    try {
      const started = performance.now();
      const g = await ask(text.trim(), new AbortController().signal);
      sendJson(res, 200, {
        text: g.text, route: g.route, route_reason: g.route_reason, model: g.model, latency_ms: Math.round(performance.now() - started), tokens: g.tokens,
        ...(g.sources ? { sources: g.sources } : {}), ...(g.history ? { history: g.history } : {}),
      });
    } catch (err) {
      asHttp(err);
    }
  });

  http.route('POST', '/api/describe', async ({ req, res }) => {
    refuseSimpleContentType(req);
    const body = await readBody(req, TRY_LIMITS.imageBytes);
    if (!sniffImage(body)) throw new HttpError(415, 'not an image: upload a JPEG, PNG or WebP file');
    let jpeg: Buffer;
    try {
      jpeg = (await prepareImage(body, { maxSide: imageSizeFor(ctx.config), maxBytes: TRY_LIMITS.imageBytes })).jpeg;
    } catch (err) {
      throw new HttpError(422, errorMessage(err));
    }
    try {
      // the camera path's own describe (prompt, schema, alert rules), as if from a camera named try_it
      const result = await describeSnapshot(ctx.router, cameraSettings(ctx.config, TRY_CAMERA), jpeg, { source: 'api' });
      sendJson(res, 200, result);
    } catch (err) {
      asHttp(err);
    }
  });

  http.route('POST', '/api/transcribe', async ({ req, res }) => {
    refuseSimpleContentType(req);
    const body = await readBody(req, TRY_LIMITS.wavBytes);
    let wav: WavAudio;
    try {
      wav = readWav(body);
    } catch (err) {
      throw new HttpError(415, errorMessage(err));
    }
    const seconds = wav.durationS;
    if (seconds > ctx.config.voice.max_utterance_s) {
      throw new HttpError(413, `the recording is ${seconds.toFixed(1)} s; the limit is ${ctx.config.voice.max_utterance_s} s (voice.max_utterance_s)`);
    }
    const audio = toSpeechAudio(wav.samples, wav.format.rate, wav.format.channels);
    try {
      const r = await ctx.router.transcribe(audio);
      sendJson(res, 200, { text: r.value.text, route: r.route, route_reason: r.reason, model: r.model, latency_ms: Math.round(r.latencyMs), duration_s: Math.round(seconds * 100) / 100 });
    } catch (err) {
      asHttp(err);
    }
  });
}
