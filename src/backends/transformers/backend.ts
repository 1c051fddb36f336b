import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, DisposedError, errorMessage, InputError, TimeoutError } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { Limiter } from '../../models/limiter.js';
import { callDeadline, untilAborted, type CallDeadline } from '../../core/abort.js';
import type {
  Audio,
  Backend,
  BackendHealth,
  Capability,
  GenerateRequest,
  GenerateResult,
  SoundScore,
  SynthesizeResult,
  TranscribeResult,
} from '../types.js';
import { audioForModel } from './audio-input.js';
import { decodeImage } from './image-input.js';
import { checkModelFolder, locateModel, type ModelLocation } from './model-folder.js';
import { RemotePipeline } from './pipeline-client.js';
import type { LoadProgress } from './pipelines.js';
import { sessionOptions, transformersEnv, type RuntimeConfig } from './runtime.js';
import { capabilitiesFor, resolveTask, taskProblem, type TransformersTask } from './tasks.js';

/** Longest text synthesized in one call (characters): a spoken answer, not a book. */
export const MAX_TTS_CHARS = 2000;
/** Texts embedded per model call: bounds the padded batch tensor. */
const EMBED_BATCH = 16;
/** Hub repo ids look like `org/name`: only those can be downloaded. */
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export interface TransformersBackendOptions {
  role: string;
  spec: ModelConfig;
  /** Absolute models folder (config.models_dir resolved against the config file's folder). */
  modelsDir: string;
  runtime: RuntimeConfig;
  log: Logger;
  /** Wraps every model load (the model manager makes room and serializes loads). Default: load. */
  loadGate?: (backend: TransformersBackend, load: () => Promise<void>) => Promise<void>;
  /** Called at the start of every request (LRU bookkeeping). */
  onUse?: (backend: TransformersBackend) => void;
  /** Hub base URL for downloads (a mirror); default: HF_ENDPOINT, else huggingface.co. */
  hubUrl?: string;
}

interface Loaded {
  pipe: RemotePipeline;
  /** Estimated memory (bytes): the ONNX files' size; ONNX Runtime does not report its own. */
  bytes: number;
}

/**
 * Runs a local transformers.js (ONNX Runtime, CPU) model for one role: image captions
 * (image-to-text), speech recognition, text-to-speech or sentence embeddings. The pipeline is
 * created on first use from a local folder (remote loading only with runtime.allow_downloads),
 * every call has a deadline of `timeout_s`, at most `concurrency` calls run and `queue_limit`
 * wait. A missing or incomplete folder fails start() with a message saying which files to put
 * where; the rest of the bridge keeps running.
 *
 * ONNX Runtime cannot stop a running inference: an aborted or timed-out call rejects at once,
 * caption generation stops at the next token, and other work finishes in the background while
 * still holding its concurrency slot (so the bound stays true).
 */
export class TransformersBackend implements Backend {
  readonly kind = 'transformers';
  readonly role: string;
  readonly model: string;
  readonly capabilities: ReadonlySet<Capability>;
  readonly task: TransformersTask | undefined;
  readonly limiter: Limiter;
  private loaded?: Loaded;
  private loading?: Promise<void>;
  private state: BackendHealth = { state: 'idle' };
  private disposed = false;
  /** Aborts in-flight calls on unload/dispose. */
  private lifetime = new AbortController();
  /** Model work still running (possibly abandoned by its caller): unload waits for it. */
  private readonly inflight = new Set<Promise<unknown>>();
  private lastUsedAt = 0;

  constructor(private readonly opts: TransformersBackendOptions) {
    this.role = opts.role;
    this.task = resolveTask(opts.role, opts.spec.task);
    const id = opts.spec.model || opts.spec.repo_id;
    this.model = opts.spec.name || id.split('/').pop() || opts.role;
    this.capabilities = new Set<Capability>(this.task ? capabilitiesFor(this.task) : []);
    this.limiter = new Limiter(`${opts.role} (${this.model})`, opts.spec.concurrency, opts.spec.queue_limit);
  }

  get spec(): ModelConfig {
    return this.opts.spec;
  }
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }
  /** Requests running or queued. */
  get busy(): boolean {
    return this.limiter.active > 0 || this.limiter.queued > 0 || this.inflight.size > 0;
  }
  /** ms since epoch of the last request start (0: never used). */
  get lastUsed(): number {
    return this.lastUsedAt;
  }
  /** Estimated memory of the loaded sessions, bytes (0 when not loaded). */
  measuredBytes(): number {
    return this.loaded?.bytes ?? 0;
  }

  health(): BackendHealth {
    if (this.loaded && !this.loaded.pipe.alive) {
      // The worker is gone; the next request loads the model again.
      return { state: 'idle', lastError: `${this.role}: the transformers worker stopped; the model reloads on the next request` };
    }
    return { ...this.state };
  }

  /** Idempotent: checks the model folder and creates the pipeline (through the load gate). */
  async start(signal?: AbortSignal): Promise<void> {
    this.assertLive();
    if (this.loaded) return;
    if (!this.loading) {
      const gate = this.opts.loadGate ?? ((_b, load) => load());
      this.loading = gate(this, () => this.load()).finally(() => {
        this.loading = undefined;
      });
    }
    // Loading cannot be interrupted; a caller that gives up stops waiting for it.
    return signal ? untilAborted(this.loading, signal) : this.loading;
  }

  private async load(): Promise<void> {
    this.assertLive();
    if (this.loaded) return;
    const { role, spec, modelsDir, runtime, log } = this.opts;
    this.state = { state: 'starting' };
    const started = Date.now();
    let location: ModelLocation | undefined;
    try {
      if (!this.task) throw new BackendError(taskProblem(role, spec.task) ?? `${role}: no task`);
      location = locateModel(role, spec, modelsDir);
      let modelRef = location.dir;
      let dtype: string | undefined;
      let bytes = 0;
      try {
        const checked = checkModelFolder(role, this.task, location);
        dtype = checked.dtype;
        bytes = checked.onnxBytes;
      } catch (err) {
        // With downloads allowed, a hub id that is not on disk yet is fetched into the models folder.
        if (!runtime.allow_downloads || !REPO_ID.test(location.id)) throw err;
        modelRef = location.id;
        log.info({ module: 'transformers', role, model: location.id, into: modelsDir }, 'downloading model');
      }
      let pipe: RemotePipeline;
      try {
        pipe = await RemotePipeline.load({
          task: this.task,
          modelRef,
          ...(dtype ? { dtype } : {}),
          sessionOptions: sessionOptions(runtime),
          localFilesOnly: !runtime.allow_downloads,
          env: transformersEnv(runtime, modelsDir, this.opts.hubUrl),
          ...(modelRef === location.id ? { onProgress: downloadProgressLogger(log, role, location.id) } : {}),
        });
      } catch (err) {
        throw new BackendError(`${role}: transformers.js could not load ${location.dir} as ${this.task}: ${errorMessage(err)}`);
      }
      if (modelRef === location.id) {
        // Downloaded: the files are in the folder now, so the size estimate can be made.
        try {
          bytes = checkModelFolder(role, this.task, location).onnxBytes;
        } catch {
          bytes = 0; // cached under another layout (an explicit dtype variant): no estimate
        }
      }
      if (this.disposed) {
        await pipe.dispose();
        throw new DisposedError(`${role}: disposed while loading`);
      }
      this.loaded = { pipe, bytes };
      this.state = { state: 'ready' };
      log.info({ module: 'transformers', role, task: this.task, dir: location.dir, dtype, ms: Date.now() - started }, 'model loaded');
    } catch (err) {
      this.state = { state: 'failed', lastError: errorMessage(err) };
      log.error({ module: 'transformers', role, dir: location?.dir, err: errorMessage(err) }, 'model load failed');
      throw err;
    }
  }

  /**
   * Describes the image(s): one caption per image (frames of a clip), distinct captions joined
   * with "; ". Captioning models take no prompt, so the messages are not sent to the model;
   * a JSON schema cannot be honoured either (no json_schema capability): text is returned.
   */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.requireTask('image-to-text', 'describe images');
    const images = req.images ?? [];
    if (images.length === 0) throw new InputError(`${this.role}: ${this.model} describes images; the request has none`);
    const maxNewTokens = req.maxTokens ?? this.opts.spec.max_tokens;
    const started = Date.now();
    let tokens = 0;
    const captions = await this.run(req.signal, async (pipe, signal) => {
      const out: string[] = [];
      for (const [i, bytes] of images.entries()) {
        signal.throwIfAborted();
        const label = images.length > 1 ? `${this.role}: image ${i + 1} of ${images.length}` : `${this.role}: the image`;
        const image = await decodeImage(bytes, this.opts.spec.image_size, label);
        const r = await pipe.caption(image, { maxNewTokens, signal, ...(req.onToken ? { onToken: req.onToken } : {}) });
        tokens += r.tokens;
        out.push(r.text);
      }
      return out;
    });
    const text = [...new Set(captions.filter((c) => c.length > 0))].join('; ');
    if (!text) throw new BackendError(`${this.role}: ${this.model} produced an empty caption`);
    return { text, model: this.model, tokens, latencyMs: Date.now() - started };
  }

  /** Text of the utterance. Audio at another rate than the model's is resampled. */
  async transcribe(audio: Audio, signal?: AbortSignal): Promise<TranscribeResult> {
    this.requireTask('automatic-speech-recognition', 'transcribe audio');
    const started = Date.now();
    const text = await this.run(signal, async (pipe) => {
      const rate = pipe.info.sampleRate ?? 16_000;
      const samples = padToMinimum(audioForModel(audio, rate, this.role), rate);
      return pipe.transcribe(samples, rate);
    });
    return { text, model: this.model, latencyMs: Date.now() - started };
  }

  /** Speech for `text` at the model's own sampling rate (see audio.sampleRate). */
  async synthesize(text: string, signal?: AbortSignal): Promise<SynthesizeResult> {
    this.requireTask('text-to-speech', 'synthesize speech');
    const clean = text.trim();
    if (!clean) throw new InputError(`${this.role}: nothing to say (empty text)`);
    if (clean.length > MAX_TTS_CHARS) throw new InputError(`${this.role}: text of ${clean.length} characters; the limit is ${MAX_TTS_CHARS} per call`);
    const started = Date.now();
    const out = await this.run(signal, (pipe) => pipe.synthesize(clean));
    if (out.samples.length === 0) {
      throw new InputError(`${this.role}: ${this.model} produced no audio for this text (no characters it can pronounce?)`);
    }
    if (!Number.isFinite(out.sampleRate) || out.sampleRate <= 0) {
      throw new BackendError(`${this.role}: ${this.model} has no sampling_rate in its config.json`);
    }
    return { audio: { sampleRate: out.sampleRate, samples: out.samples }, model: this.model, latencyMs: Date.now() - started };
  }

  /** One unit-length vector per text (mean pooling over tokens, then L2 normalization). */
  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    this.requireTask('feature-extraction', 'embed text');
    if (texts.length === 0) return [];
    const bad = texts.findIndex((t) => typeof t !== 'string');
    if (bad >= 0) throw new InputError(`${this.role}: text ${bad} is not a string`);
    return this.run(signal, async (pipe, callSignal) => {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += EMBED_BATCH) {
        callSignal.throwIfAborted();
        out.push(...(await pipe.embed(texts.slice(i, i + EMBED_BATCH))));
      }
      return out;
    });
  }

  /**
   * Every label's score for one window of audio, highest first. Audio at another rate is
   * resampled; very short audio is padded with silence (a model's first convolution needs a
   * minimum window).
   */
  async classifyAudio(audio: Audio, signal?: AbortSignal): Promise<SoundScore[]> {
    this.requireTask('audio-classification', 'classify sounds');
    const scores = await this.run(signal, async (pipe) => {
      const rate = pipe.info.sampleRate ?? 16_000;
      return pipe.classifyAudio(padToMinimum(audioForModel(audio, rate, this.role), rate));
    });
    return scores.filter((s) => Number.isFinite(s.score)).sort((a, b) => b.score - a.score);
  }

  /** Frees the pipeline but stays usable: the next request loads again (eviction, idle unload). */
  async unload(): Promise<void> {
    if (this.loading) await this.loading.catch(() => undefined);
    this.lifetime.abort(new DisposedError(`${this.role}: model unloaded`));
    this.lifetime = new AbortController();
    // Sessions must not be released under a running inference.
    await Promise.allSettled([...this.inflight]);
    const current = this.loaded;
    this.loaded = undefined;
    if (current) await current.pipe.dispose();
    if (!this.disposed) this.state = { state: 'idle' };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.limiter.rejectAll(new DisposedError(`${this.role}: disposed`));
    await this.unload();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /**
   * One model call: concurrency slot, lazy start, deadline. The caller's promise settles on
   * abort/timeout at once; the model work keeps its slot until it really ends.
   */
  private async run<T>(callerSignal: AbortSignal | undefined, work: (pipe: RemotePipeline, signal: AbortSignal) => Promise<T>): Promise<T> {
    const { signal, done, mapError } = this.callSignal(callerSignal);
    let release: (() => void) | undefined;
    try {
      release = await this.limiter.acquire(signal);
      this.touch();
      // The worker stopped (crash, or terminated): load again rather than fail forever.
      if (this.loaded && !this.loaded.pipe.alive) {
        this.opts.log.warn({ module: 'transformers', role: this.role }, 'pipeline worker gone; reloading the model');
        this.loaded = undefined;
        this.state = { state: 'idle' };
      }
      await this.start(signal);
      const loaded = this.loaded;
      if (!loaded) throw new DisposedError(`${this.role}: model was unloaded`);
      const job = work(loaded.pipe, signal);
      this.inflight.add(job);
      const slot = release;
      release = undefined;
      const finish = (): void => {
        this.inflight.delete(job);
        slot();
      };
      void job.then(finish, finish);
      return await untilAborted(job, signal);
    } catch (err) {
      const mapped = mapError(err);
      if (!(mapped instanceof InputError) && !(mapped instanceof DisposedError)) {
        this.state = { ...this.state, lastError: errorMessage(mapped) };
      }
      if (mapped instanceof InputError || mapped instanceof TimeoutError || mapped instanceof DisposedError || mapped instanceof BackendError) throw mapped;
      if (mapped !== err) throw mapped; // the caller's own abort reason
      throw new BackendError(`${this.role}: ${this.model} failed: ${errorMessage(err)}`);
    } finally {
      release?.();
      done();
    }
  }

  /** caller signal + timeout_s + unload, and a mapper turning an abort into the right named error. */
  private callSignal(caller?: AbortSignal): CallDeadline {
    this.assertLive();
    return callDeadline(this.role, this.opts.spec.timeout_s, this.lifetime.signal, caller);
  }

  private requireTask(task: TransformersTask, what: string): void {
    this.assertLive();
    if (this.task !== task) {
      throw new InputError(`${this.role}: ${this.model} runs ${this.task ?? 'no task'} and cannot ${what} (capabilities: ${[...this.capabilities].join(', ') || 'none'})`);
    }
  }

  private touch(): void {
    this.lastUsedAt = Date.now();
    this.opts.onUse?.(this);
  }

  private assertLive(): void {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
  }
}

/** Logs each downloaded file's start, every 25 %, and its end (the user watches a first start). */
function downloadProgressLogger(log: Logger, role: string, model: string): (info: LoadProgress) => void {
  const reported = new Map<string, number>();
  return (info) => {
    const file = info.file ?? '';
    if (info.status === 'download') {
      reported.set(file, 0);
      log.info({ module: 'transformers', role, model, file }, 'downloading file');
    }
    else if (info.status === 'progress' && typeof info.progress === 'number') {
      const step = Math.floor(info.progress / 25) * 25;
      if (step > (reported.get(file) ?? 0) && step < 100) {
        reported.set(file, step);
        log.info({ module: 'transformers', role, model, file, percent: step, mb: Math.round((info.total ?? 0) / 1_048_576) }, 'download progress');
      }
    } else if (info.status === 'done' && reported.has(file)) log.info({ module: 'transformers', role, model, file }, 'downloaded file');
  };
}


/**
 * Speech models' first convolution needs a minimum window (wav2vec2: 400 samples); a very
 * short clip is padded with silence to 0.1 s instead of failing inside ONNX Runtime.
 */
function padToMinimum(samples: Float32Array, rate: number): Float32Array {
  const min = Math.ceil(rate / 10);
  if (samples.length >= min) return samples;
  const out = new Float32Array(min);
  out.set(samples);
  return out;
}
