import { readFile, stat } from 'node:fs/promises';
import { resolveDir, type LoadedConfig } from '../config/load.js';
import { errorMessage } from '../core/errors.js';
import { describeSnapshot } from '../camera/describe.js';
import { cameraSettings, imageSizeFor } from '../camera/settings.js';
import type { CameraResult } from '../core/results.js';
import { prepareImage } from '../media/image.js';
import { commandLogger, type Logger } from '../log/logger.js';
import { answerHistory, type HistoryAnswer } from '../history/answer.js';
import { TimelineStore } from '../publishers/timeline/store.js';
import { routerEmbedTexts, VectorBackfill } from '../publishers/timeline/vector-backfill.js';
import { historyDeps } from '../sources/ask-history.js';
import type { EmbedFn } from './classifier.js';
import { HistoryIntent } from './history-intent.js';
import { createModelLayer, startModelLayer, stopModelLayer, type ModelLayer } from './model-layer.js';
import type { GenerateResult } from '../backends/types.js';
import type { ModelRouter, Routed } from './types.js';

/** Largest image `sarai describe` reads (bytes). */
const MAX_IMAGE_FILE_BYTES = 32 * 1024 * 1024;

export interface DescribeCliOptions {
  prompt?: string;
  json?: boolean;
  /** A camera id under `cameras:`: its prompt and alert rules apply. */
  camera?: string;
}
export interface AskCliOptions {
  role?: string;
  json?: boolean;
  /** Print tokens as they arrive. */
  stream?: boolean;
}

/** What a CLI run printed and its exit code (the caller writes and exits). */
export interface CliOutcome {
  code: number;
}

/** The camera's fields `sarai describe` prints (the camera result without bridge bookkeeping). */
const DESCRIBE_FIELDS = ['camera', 'summary', 'description', 'objects', 'alert', 'severity', 'event_type'] as const;

/**
 * `sarai describe <image>`: one image down the camera snapshot path, without MQTT or HTTP:
 * decoded and resized as a snapshot is, described by the router under the camera JSON schema,
 * then judged by the camera's alert rules (`--camera <id>`: that camera's prompt and rules;
 * else camera_defaults). Prints the summary, objects and alert, then `route / model / latency
 * / reason` on stderr; `--json` prints the camera fields as one JSON object. A camera that is
 * not configured, an unreadable file or a file that is not an image: exit code 2.
 */
export async function describeCommand(loaded: LoadedConfig, file: string, opts: DescribeCliOptions): Promise<CliOutcome> {
  const { config } = loaded;
  if (opts.camera !== undefined && !Object.hasOwn(config.cameras, opts.camera)) {
    const known = Object.keys(config.cameras);
    const shown = JSON.stringify(opts.camera.slice(0, 64));
    process.stderr.write(`sarai describe: camera ${shown} is not configured (${known.length ? `configured: ${known.join(', ')}` : 'no cameras under cameras:'})\n`);
    return { code: 2 };
  }
  const maxBytes = Math.min(MAX_IMAGE_FILE_BYTES, Math.round(config.camera_defaults.max_image_mb * 1_048_576));
  let jpeg: Buffer;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
    if (s.size > maxBytes) throw new Error(`${s.size} bytes; the limit is ${maxBytes}`);
    jpeg = (await prepareImage(await readFile(file), { maxSide: imageSizeFor(config), maxBytes })).jpeg;
  } catch (err) {
    process.stderr.write(`sarai describe: cannot read ${file}: ${errorMessage(err)}\n`);
    return { code: 2 };
  }
  const cam = cameraSettings(config, opts.camera ?? 'cli');
  if (opts.prompt) cam.prompt = opts.prompt;
  return runWithRouter<CameraResult>(
    loaded,
    {
      ...(opts.json !== undefined ? { json: opts.json } : {}),
      text: (r) => opts.json ? r.value.summary : [r.value.summary, `objects: ${r.value.objects.join(', ') || 'none'}`, `alert: ${r.value.alert ? 'yes' : 'no'} (severity ${r.value.severity}, ${r.value.event_type})`].join('\n'),
      fields: (r) => ({ ...Object.fromEntries(DESCRIBE_FIELDS.map((k) => [k, r.value[k]])), camera: opts.camera ?? null }),
    },
    async (router) => {
      const result = await describeSnapshot(router, cam, jpeg, { source: 'api' });
      return { value: result, route: result.route, model: result.model, latencyMs: result.latency_ms, reason: result.route_reason };
    },
  );
}

/**
 * `sarai ask <text>`: a question through the router (tier classification, fallbacks); a
 * question about past events (no --role) is answered from the timeline in data_dir, citing
 * its events.
 */
export async function askCommand(loaded: LoadedConfig, text: string, opts: AskCliOptions): Promise<CliOutcome> {
  let streamed = false;
  const onToken = opts.stream && !opts.json ? (t: string) => {
    streamed = true;
    process.stdout.write(t);
  } : undefined;
  let history: HistoryAnswer | undefined;
  let store: TimelineStore | undefined;
  const out: RoutedOutput<GenerateResult> = {
    ...textOutput(opts.json),
    streamed: () => streamed,
    text: (r) => (history && !opts.json ? [r.value.text, ...history.sources.map((e) => `  [${e.id}] ${e.ts} ${e.camera}: ${e.summary}`)].join('\n') : r.value.text),
    fields: (r) => (history ? { sources: history.sources, history: history.history } : { json: r.value.json }),
  };
  try {
    return await runWithRouter(loaded, out, async (router, layer) => {
      const embed: EmbedFn | undefined = layer.backends.get('embedding') ? async (texts, signal) => (await router.embed(texts, signal)).value : undefined;
      const decision = opts.role ? undefined : await new HistoryIntent(loaded.config.router).decide(text, embed);
      if (!decision?.history) return router.answer(text, { ...(opts.role ? { role: opts.role } : {}), ...(onToken ? { onToken } : {}) });
      const started = performance.now();
      const c = loaded.config;
      store = TimelineStore.open(resolveDir(loaded, c.data_dir), c.timeline);
      const opened = store;
      const deps = historyDeps(c, router, (role) => layer.backends.get(role) !== undefined, () => opened);
      const backfill = new VectorBackfill(opened, routerEmbedTexts(router), layer.log, { batch: 16, retryMs: 60_000 });
      if (embed) {
        // events the bridge has not embedded yet (or with no embedding role running) get their vectors now
        backfill.kick();
        await backfill.idle();
      }
      history = await answerHistory(deps, text, new AbortController().signal, onToken);
      const ms = Math.round(performance.now() - started);
      return { value: { text: history.text, model: history.model, tokens: history.tokens, latencyMs: ms }, route: history.route, model: history.model, latencyMs: ms, reason: `${decision.reason}; ${history.route_reason}` };
    });
  } finally {
    store?.close();
  }
}

/** A generated answer: its text, plus the parsed JSON when there is one. */
function textOutput(json: boolean | undefined): RoutedOutput<GenerateResult> {
  return { ...(json !== undefined ? { json } : {}), text: (r) => r.value.text, fields: (r) => ({ json: r.value.json }) };
}

/** How a command shows its routed result: the text line, and extra fields for `--json`. */
export interface RoutedOutput<T> {
  json?: boolean;
  text: (r: Routed<T>) => string;
  fields?: (r: Routed<T>) => Record<string, unknown>;
  /** True when the text was already streamed to stdout. */
  streamed?: () => boolean;
}

/**
 * Runs one routed call for a CLI command on a model layer of its own (no MQTT, no HTTP):
 * the answer on stdout, `route (model), latency; reason` on stderr, or all of it as one JSON
 * object; errors as `sarai: Name: message` and exit code 1. Shared by describe/ask and the
 * voice commands.
 */
export async function runWithRouter<T>(loaded: LoadedConfig, out: RoutedOutput<T>, run: (router: ModelRouter, layer: ModelLayer & { log: Logger }) => Promise<Routed<T>>): Promise<CliOutcome> {
  const log = commandLogger(loaded.config.log);
  const layer = createModelLayer(loaded.config, resolveDir(loaded, loaded.config.models_dir), log, undefined, { baseDir: loaded.baseDir });
  try {
    await startModelLayer(layer);
    const r = await run(layer.router, { ...layer, log });
    const text = out.text(r);
    if (out.json) {
      process.stdout.write(`${JSON.stringify({ text, ...out.fields?.(r), route: r.route, model: r.model, latency_ms: r.latencyMs, reason: r.reason })}\n`);
    } else {
      process.stdout.write(out.streamed?.() ? '\n' : `${text}\n`);
      process.stderr.write(`route: ${r.route} (${r.model}), ${r.latencyMs} ms; ${r.reason}\n`);
    }
    return { code: 0 };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    if (out.json) process.stdout.write(`${JSON.stringify({ error: errorMessage(err), type: name })}\n`);
    process.stderr.write(`sarai: ${name}: ${errorMessage(err)}\n`);
    return { code: 1 };
  } finally {
    await stopModelLayer(layer);
  }
}
