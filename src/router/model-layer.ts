import '../backends/kinds.js'; // registers llama, transformers, openai, ollama
import type { PoolPlace } from '../backends/pool.js';
import { BackendRegistry } from '../backends/registry.js';
import type { Config } from '../config/schema/index.js';
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { Metrics } from '../core/metrics.js';
import type { Logger } from '../log/logger.js';
import { ModelManager } from '../models/manager.js';
import { Router } from './router.js';

export interface ModelLayer {
  backends: BackendRegistry;
  router: Router;
  /** Owns the in-process roles, llama and transformers (memory budget, LRU, idle unload); the registry uses its backends. */
  manager?: ModelManager;
}

export interface ModelLayerOptions {
  /** The config file's folder: given, a ModelManager owns the llama roles. */
  baseDir?: string;
  /** Cluster mode: this worker's place in its group (model pools start on different servers). */
  poolPlace?: PoolPlace;
}

/**
 * The registry of configured backends and the router over it. The bridge builds one in
 * createApp; the CLI (`sarai describe`, `sarai ask`) builds one without MQTT or HTTP.
 * With `baseDir`, the llama roles come from a ModelManager (one instance per model, under
 * memory.budget_mb); start it before the registry (startModelLayer does).
 */
export function createModelLayer(config: Config, modelsDir: string, log: Logger, metrics?: Metrics, opts: ModelLayerOptions = {}): ModelLayer {
  const ref: { backends?: BackendRegistry } = {};
  const manager = opts.baseDir
    ? new ModelManager({
        config,
        baseDir: opts.baseDir,
        log,
        ...(metrics ? { metrics } : {}),
        externalUsageMb: () => (ref.backends ? inProcessMb(ref.backends) : 0),
      })
    : undefined;
  const backends = new BackendRegistry({
    config,
    modelsDir,
    log,
    ...(metrics ? { metrics: metrics.registry } : {}),
    ...(manager ? { external: (role: string) => manager.managed(role) } : {}),
    ...(opts.poolPlace ? { poolPlace: opts.poolPlace } : {}),
  });
  ref.backends = backends;
  return { backends, router: new Router(backends, log), ...(manager ? { manager } : {}) };
}

/** Starts the manager (creates the llama backends), then builds the registry over them. */
export async function startModelLayer(layer: ModelLayer): Promise<void> {
  await layer.manager?.start();
  await layer.backends.start();
}

/** Stops in reverse: the registry (disposes what it owns), then the manager (llama models, runtime). */
export async function stopModelLayer(layer: ModelLayer): Promise<void> {
  await layer.backends.stop();
  await layer.manager?.stop();
}

/** transformers.js roles and the bytes their sessions hold now (0 while not loaded). */
function transformersSessions(backends: BackendRegistry): { role: string; bytes: number }[] {
  const out: { role: string; bytes: number }[] = [];
  for (const role of backends.roles()) {
    const e = backends.get(role);
    const b = e?.backend as { measuredBytes?: () => number } | undefined;
    // sessions the manager owns are in its own accounting already
    if (e?.kind === 'transformers' && !e.external && typeof b?.measuredBytes === 'function') out.push({ role, bytes: b.measuredBytes() });
  }
  return out;
}

/** MB held by transformers.js sessions (reported to the manager's budget). */
function inProcessMb(backends: BackendRegistry): number {
  return transformersSessions(backends).reduce((sum, s) => sum + s.bytes, 0) / 1_048_576;
}

/** Roles whose model is in this process's memory now: loaded GGUFs and transformers.js sessions. */
function loadedRoles(layer: ModelLayer): string[] {
  const managed = layer.backends.roles().filter((role) => layer.manager?.managed(role)?.isLoaded);
  return [...new Set([...managed, ...transformersSessions(layer.backends).filter((s) => s.bytes > 0).map((s) => s.role)])];
}

/**
 * The backends as a bridge feature: builds the role table at start (missing models are
 * reported, not fatal), puts backend health on the bridge device (a problem binary_sensor
 * with the reasons as attributes), and disposes every backend on stop.
 */
export function backendsFeature(ctx: AppContext): Service {
  const registry = ctx.backends;
  const layer: ModelLayer = { backends: registry, router: ctx.router as Router, ...(ctx.models ? { manager: ctx.models } : {}) };
  return {
    name: 'backends',
    async start() {
      await startModelLayer(layer);
      ctx.bridge.addStateProvider(() => registry.bridgeState());
      ctx.bridge.addStateProvider(() => ctx.models?.downloadState() ?? {});
      ctx.bridge.addStateProvider(() => {
        const loaded = loadedRoles(layer);
        return { loaded_models: loaded, loaded_model_count: loaded.length };
      });
      const republish = () => void ctx.bridge.publishState(false).catch(() => undefined);
      registry.onHealthChange(republish);
      ctx.models?.onEvent((e) => e.type !== 'load_failed' && republish());
      await ctx.bridge.addComponent('backend_problem', {
        p: 'binary_sensor',
        name: 'Backend problem',
        device_class: 'problem',
        entity_category: 'diagnostic',
        state_topic: ctx.bridge.stateTopic,
        value_template: '{{ "ON" if value_json.backend_problem else "OFF" }}',
        json_attributes_topic: ctx.bridge.stateTopic,
        json_attributes_template: '{{ {"problems": value_json.backend_problems, "backends": value_json.backends} | tojson }}',
      });
      await ctx.bridge.publishState(false);
    },
    stop: () => stopModelLayer(layer),
  };
}
