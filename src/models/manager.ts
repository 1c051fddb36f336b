import { existsSync, statSync } from 'node:fs';
import { Counter, Gauge } from 'prom-client';
import { LlamaBackend } from '../backends/llama/backend.js';
import { MultimodalBackend } from '../backends/multimodal/backend.js';
import { mmprojPath } from '../backends/kinds.js';
import { TransformersBackend } from '../backends/transformers/backend.js';
import { checkModelFolder, locateModel, resolveTask } from '../backends/transformers/index.js';
import { PipelineHost } from '../backends/transformers/pipeline-client.js';
import { disposeSharedLlama } from '../backends/llama/runtime.js';
import type { Config, ModelConfig } from '../config/schema/index.js';
import { CapacityError, errorMessage, InputError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import type { Metrics } from '../core/metrics.js';
import type { Logger } from '../log/logger.js';
import type { GgufSummary } from './gguf-preflight.js';
import { estimateModelMb, estimateMultimodalMb, summaryForEstimate } from './memory-estimate.js';
import { modelsDir, resolveModelPath } from './paths.js';
import { loadManifest } from './manifest.js';
import { pullPlan } from './plan.js';
import { pullMissingModels } from './pull.js';
import type { PullStatus } from './pull-session.js';
import './budget-check.js'; // registers the pinned-models budget rule with check-config

const MB = 1_048_576;

/** An in-process model the manager loads, accounts, evicts and unloads (GGUF, GGUF + mmproj, or transformers.js). */
export type ManagedBackend = LlamaBackend | MultimodalBackend | TransformersBackend;

/** One role as the bridge device, `sarai models list` and /metrics show it. */
export interface ModelInfo {
  role: string;
  name: string;
  backend: string;
  enabled: boolean;
  /** Absolute GGUF path (llama roles) or undefined. */
  file?: string;
  present: boolean;
  /** In-process and loaded now (llama roles only). */
  loaded: boolean;
  /** auto_unload: false. */
  pinned: boolean;
  /** Estimated MB: GGUF file + KV cache, or max_memory_mb when larger (other backends: max_memory_mb). */
  estimatedMb: number;
  /** MB llama.cpp reports for the loaded model and contexts (0 when not loaded). */
  measuredMb: number;
  /** ms since epoch of the last request (0: never). */
  lastUsed: number;
  state: string;
  lastError?: string;
}

export type ModelEvent =
  | { type: 'loaded'; role: string; ms: number }
  | { type: 'unloaded'; role: string; reason: 'evicted' | 'idle' | 'shutdown' }
  | { type: 'load_failed'; role: string; error: string }
  /** the start-up pull moved on (throttled to about one a second) or ended */
  | { type: 'downloads'; state: PullStatus['state'] };

export interface ModelManagerOptions {
  config: Config;
  /** Folder relative paths in the config resolve against (the config file's folder). */
  baseDir: string;
  log: Logger;
  metrics?: Metrics;
  /** MB held by in-process models this manager does not own (e.g. transformers.js); default 0. */
  externalUsageMb?: () => number;
}

/**
 * Owns the in-process models (llama roles, GGUF + mmproj multimodal roles, transformers.js roles): creates their backends, loads them
 * lazily (or at start with warm_up), keeps the sum of estimates under memory.budget_mb by
 * unloading least-recently-used `auto_unload: true` models (never pinned or busy ones),
 * unloads idle models after idle_unload_s, and disposes everything on stop. Roles on other
 * backends are only reported, with their configured max_memory_mb.
 */
export class ModelManager implements Service {
  readonly name = 'models';
  private readonly backends = new Map<string, ManagedBackend>();
  private readonly listeners: ((e: ModelEvent) => void)[] = [];
  private readonly summaries = new Map<string, GgufSummary>();
  private lock: Promise<unknown> = Promise.resolve();
  private idleTimer?: NodeJS.Timeout;
  private evictionCount = 0;
  private metricsRegistered = false;
  private readonly stopping = new AbortController();
  private pulling?: Promise<string[]>;
  private pullStatus?: PullStatus;
  private pullDone = false;
  private lastPullEvent = 0;

  constructor(private readonly opts: ModelManagerOptions) {}

  /** Creates the backends (nothing is loaded unless warm_up), starts the idle-unload timer. */
  async start(): Promise<void> {
    const { config, baseDir, log } = this.opts;
    this.registerMetrics();
    for (const [role, spec] of Object.entries(config.models)) {
      if (!spec.enabled || spec.backend !== 'llama') continue;
      const modelPath = resolveModelPath(config, baseDir, spec);
      if (!modelPath) {
        log.error({ module: 'models', role }, `models.${role}.gguf_file is empty: the llama backend needs a GGUF file`);
        continue;
      }
      if (spec.mmproj_file) {
        // GGUF + mmproj: libmtmd in a model host process (src/backends/multimodal/), under the same gate
        const mmproj = mmprojPath({ spec, modelsDir: modelsDir(config, baseDir) });
        this.backends.set(role, new MultimodalBackend({ role, spec, modelPath, mmprojPath: mmproj, runtime: config.runtime, log, loadGate: (b, load) => this.gate(b, load) }));
        continue;
      }
      this.backends.set(
        role,
        new LlamaBackend({
          role,
          spec,
          modelPath,
          runtime: config.runtime,
          log,
          loadGate: (b, load) => this.gate(b, load),
        }),
      );
    }
    // transformers.js roles: the same load gate, budget, idle unload, pinning and warm-up
    for (const [role, spec] of Object.entries(config.models)) {
      if (!spec.enabled || spec.backend !== 'transformers') continue;
      this.backends.set(
        role,
        new TransformersBackend({ role, spec, modelsDir: modelsDir(config, baseDir), runtime: config.runtime, log, loadGate: (b, load) => this.gate(b, load) }),
      );
    }
    // missing files: pulled in the background when allow_downloads, else reported with where to put them
    this.pulling = pullMissingModels(config, baseDir, log, this.stopping.signal, { onStatus: (st) => this.onPullStatus(st) })
      .catch(() => [])
      .finally(() => {
        this.pullDone = true;
        this.emit({ type: 'downloads', state: this.pullStatus?.state ?? 'idle' });
      });
    const notice = config.runtime.allow_downloads ? undefined : this.modelsNotice();
    if (notice) log.warn({ module: 'models' }, notice);
    const idle = [...this.backends.values()].map((b) => b.spec.idle_unload_s).filter((s) => s > 0);
    if (idle.length > 0) {
      const tickMs = Math.min(30_000, Math.max(100, (Math.min(...idle) * 1000) / 4));
      this.idleTimer = setInterval(() => void this.unloadIdle(Date.now()), tickMs);
      this.idleTimer.unref();
    }
    for (const b of this.backends.values()) {
      if (!b.spec.warm_up) continue;
      try {
        await b.start();
      } catch (err) {
        log.error({ module: 'models', role: b.role, err: errorMessage(err) }, 'warm-up failed; the role loads again on first use');
      }
    }
  }

  /**
   * The model-file side of the bridge state: the start-up pull's progress (`downloads`:
   * bytes, percent, ETA, file) and, while no in-process role has its files and nothing is
   * being pulled, one `models_notice` saying what to do.
   */
  downloadState(): { downloads?: PullStatus; models_notice?: string } {
    const notice = this.modelsNotice();
    return { ...(this.pullStatus ? { downloads: this.pullStatus } : {}), ...(notice ? { models_notice: notice } : {}) };
  }

  /** "no models yet" when every enabled in-process role lacks its files and no pull is running. */
  modelsNotice(): string | undefined {
    const { config, baseDir } = this.opts;
    if (this.pullStatus?.state === 'pulling' || (config.runtime.allow_downloads && this.pulling && !this.pullDone)) return undefined;
    let plans;
    try {
      plans = pullPlan(config, baseDir, loadManifest());
    } catch {
      return undefined;
    }
    if (plans.length === 0 || plans.some((p) => p.present)) return undefined;
    const why = this.pullStatus?.state === 'no_route' ? ' (the model hub could not be reached: set HF_ENDPOINT to a mirror, or place the files; the log lists where)' : '';
    return `no models yet: run \`sarai models pull --all\` or enable downloads (runtime.allow_downloads: true)${why}`;
  }

  private onPullStatus(st: PullStatus): void {
    this.pullStatus = st;
    const now = Date.now();
    if (st.state === 'pulling' && now - this.lastPullEvent < 1000) return;
    this.lastPullEvent = now;
    this.emit({ type: 'downloads', state: st.state });
  }

  /** Unloads and disposes every model, then the shared llama.cpp runtime. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.pulling;
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    for (const b of this.backends.values()) {
      const wasLoaded = b.isLoaded;
      await b.dispose();
      if (wasLoaded) this.emit({ type: 'unloaded', role: b.role, reason: 'shutdown' });
    }
    this.backends.clear();
    await disposeSharedLlama();
  }

  /** The in-process backend of a llama role (not loaded until used). */
  backend(role: string): LlamaBackend | undefined {
    const b = this.backends.get(role);
    return b instanceof LlamaBackend ? b : undefined;
  }

  /** The in-process backend of any managed role (llama or transformers), not loaded until used. */
  managed(role: string): ManagedBackend | undefined {
    return this.backends.get(role);
  }

  onEvent(listener: (e: ModelEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get evictions(): number {
    return this.evictionCount;
  }

  /** Every configured role, for `sarai models list`, the HA bridge device and /metrics. */
  info(): ModelInfo[] {
    const { config, baseDir } = this.opts;
    return Object.entries(config.models).map(([role, spec]) => {
      const b = this.backends.get(role);
      const file = spec.backend === 'llama' ? resolveModelPath(config, baseDir, spec) : undefined;
      const health = b?.health();
      return {
        role,
        name: spec.name || role,
        backend: spec.backend,
        enabled: spec.enabled,
        ...(file ? { file } : {}),
        present: file ? existsSync(file) : spec.backend !== 'llama',
        loaded: b?.isLoaded ?? false,
        pinned: !spec.auto_unload,
        estimatedMb: b ? this.estimateFor(b) : spec.backend === 'llama' ? this.estimateMb(role, spec, file) : spec.max_memory_mb,
        measuredMb: b ? Math.round(b.measuredBytes() / MB) : 0,
        lastUsed: b?.lastUsed ?? 0,
        state: health?.state ?? (spec.enabled ? 'external' : 'disabled'),
        ...(health?.lastError ? { lastError: health.lastError } : {}),
      };
    });
  }

  /** MB the loaded in-process models are estimated to hold (plus external usage). */
  usedMb(except?: ManagedBackend): number {
    let mb = this.opts.externalUsageMb?.() ?? 0;
    for (const b of this.backends.values()) if (b.isLoaded && b !== except) mb += this.estimateFor(b);
    return mb;
  }

  /** Unloads models idle for longer than their idle_unload_s (auto_unload models only). */
  async unloadIdle(nowMs: number): Promise<void> {
    for (const b of this.backends.values()) {
      const s = b.spec.idle_unload_s;
      if (!b.isLoaded || s <= 0 || !b.spec.auto_unload || b.busy) continue;
      if (nowMs - b.lastUsed < s * 1000) continue;
      await this.lockAnd(async () => {
        if (!b.isLoaded || b.busy) return;
        await b.unload();
        this.opts.log.info({ module: 'models', role: b.role, idle_s: s }, 'model unloaded after idling');
        this.emit({ type: 'unloaded', role: b.role, reason: 'idle' });
      });
    }
  }

  // --- internals ---

  private estimateFor(b: ManagedBackend): number {
    if (b instanceof LlamaBackend) return this.estimateMb(b.role, b.spec, b.modelPath);
    if (b instanceof MultimodalBackend) return estimateMultimodalMb(b.spec, this.summary(b.role, b.modelPath), fileBytes(b.mmprojPath));
    // transformers.js: the ONNX files' size (what the sessions hold), or max_memory_mb when larger
    const loadedMb = Math.ceil(b.measuredBytes() / MB);
    return Math.max(b.spec.max_memory_mb, loadedMb || this.onnxMb(b));
  }

  /** Size of a transformers.js role's ONNX files on disk (0 while the folder is incomplete). */
  private onnxMb(b: TransformersBackend): number {
    const task = resolveTask(b.role, b.spec.task);
    if (!task) return 0;
    try {
      return Math.ceil(checkModelFolder(b.role, task, locateModel(b.role, b.spec, modelsDir(this.opts.config, this.opts.baseDir))).onnxBytes / MB);
    } catch {
      return 0;
    }
  }

  private estimateMb(role: string, spec: ModelConfig, file: string | undefined): number {
    return estimateModelMb(role, spec, this.summary(role, file));
  }

  /** The GGUF metadata an estimate needs, read once per load (undefined while the file is missing). */
  private summary(role: string, file: string | undefined): GgufSummary | undefined {
    let summary = this.summaries.get(role);
    if (!summary) {
      summary = summaryForEstimate(file);
      if (summary) this.summaries.set(role, summary);
    }
    return summary;
  }

  /** Serializes loads, evictions and idle unloads, so the budget arithmetic stays true. */
  private lockAnd<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private gate(b: ManagedBackend, load: () => Promise<void>): Promise<void> {
    return this.lockAnd(async () => {
      if (b.isLoaded) return;
      const budget = this.opts.config.memory.budget_mb;
      this.summaries.delete(b.role); // the file may have changed (pulled, replaced)
      const need = this.estimateFor(b);
      if (need > budget) {
        throw new CapacityError(`${b.role}: needs ~${need} MB, more than memory.budget_mb (${budget} MB)`);
      }
      const candidates = [...this.backends.values()]
        .filter((o) => o !== b && o.isLoaded && o.spec.auto_unload && !o.busy)
        .sort((x, y) => x.lastUsed - y.lastUsed);
      while (this.usedMb(b) + need > budget) {
        const victim = candidates.shift();
        if (!victim) {
          const held = [...this.backends.values()]
            .filter((o) => o !== b && o.isLoaded)
            .map((o) => `${o.role} ~${this.estimateFor(o)} MB${o.spec.auto_unload ? ' (busy)' : ' (pinned)'}`);
          throw new CapacityError(
            `${b.role}: needs ~${need} MB but only ${Math.max(0, budget - this.usedMb(b))} MB of memory.budget_mb (${budget} MB) can be freed; held by ${held.join(', ') || 'other in-process models'}`,
          );
        }
        await victim.unload();
        this.evictionCount++;
        this.evictionMetric?.inc({ role: victim.role });
        this.opts.log.info({ module: 'models', role: victim.role, for: b.role, need_mb: need, budget_mb: budget }, 'model evicted to stay under the memory budget');
        this.emit({ type: 'unloaded', role: victim.role, reason: 'evicted' });
      }
      const started = Date.now();
      try {
        await load();
      } catch (err) {
        this.emit({ type: 'load_failed', role: b.role, error: errorMessage(err) });
        throw err;
      }
      this.loadMetric?.inc({ role: b.role });
      this.emit({ type: 'loaded', role: b.role, ms: Date.now() - started });
    });
  }

  private emit(e: ModelEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.opts.log.error({ module: 'models', err: errorMessage(err) }, 'model event listener failed');
      }
    }
  }

  private evictionMetric?: Counter<'role'>;
  private loadMetric?: Counter<'role'>;

  private registerMetrics(): void {
    const metrics = this.opts.metrics;
    if (!metrics || this.metricsRegistered) return;
    this.metricsRegistered = true;
    const registers = [metrics.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'sarai_model_loaded',
      help: '1 when the role’s model is loaded in-process',
      labelNames: ['role'],
      registers,
      collect() {
        for (const i of self.info()) if (i.backend === 'llama' || i.backend === 'transformers') this.set({ role: i.role }, i.loaded ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sarai_model_memory_estimated_bytes',
      help: 'Estimated memory of the role’s model when loaded (GGUF + KV cache, or max_memory_mb)',
      labelNames: ['role'],
      registers,
      collect() {
        for (const i of self.info()) if (i.enabled) this.set({ role: i.role }, i.estimatedMb * MB);
      },
    });
    new Gauge({
      name: 'sarai_model_memory_measured_bytes',
      help: 'Memory llama.cpp reports for the loaded model and its contexts',
      labelNames: ['role'],
      registers,
      collect() {
        for (const b of self.backends.values()) this.set({ role: b.role }, b.measuredBytes());
      },
    });
    new Gauge({
      name: 'sarai_transformers_worker_memory_bytes',
      help: 'The transformers.js worker thread’s own V8 heap (used, total) and external memory; the process’s heap metrics cover the main thread only',
      labelNames: ['kind'],
      registers,
      async collect() {
        this.reset();
        const m = await PipelineHost.peek()?.memory();
        if (!m) return;
        this.set({ kind: 'heap_used' }, m.heapUsed);
        this.set({ kind: 'heap_total' }, m.heapTotal);
        this.set({ kind: 'external' }, m.external);
      },
    });
    new Gauge({
      name: 'sarai_model_memory_budget_bytes',
      help: 'memory.budget_mb',
      registers,
      collect() {
        this.set(self.opts.config.memory.budget_mb * MB);
      },
    });
    this.evictionMetric = new Counter({ name: 'sarai_model_evictions_total', help: 'Models unloaded to stay under the memory budget', labelNames: ['role'], registers });
    this.loadMetric = new Counter({ name: 'sarai_model_loads_total', help: 'Model loads', labelNames: ['role'], registers });
  }
}

/** Size of a file in bytes, or undefined while it is missing (the estimate then falls back to max_memory_mb). */
function fileBytes(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Throws InputError when `role` has no in-process llama backend in `manager`. */
export function requireLlamaRole(manager: ModelManager, role: string): LlamaBackend {
  const b = manager.backend(role);
  if (!b) throw new InputError(`role ${role} is not an enabled llama (in-process GGUF) role`);
  return b;
}
