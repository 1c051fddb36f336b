import type { AppContext } from '../core/context.js';
import { liveClientCount } from './api-live.js';
import { sendJson } from './respond.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** One configured model role as the System page shows it. */
export interface SystemModel {
  role: string;
  name: string;
  backend: string;
  enabled: boolean;
  loaded: boolean;
  /** Configured budget share (max_memory_mb), or the model manager's measured size when loaded (MB). */
  memory_mb: number;
  state: string;
  problem?: string;
}

/** A provider that fails leaves its part of the page empty instead of failing the page. */
function orEmpty<T>(ctx: AppContext, what: string, read: () => T[]): T[] {
  try {
    return read();
  } catch (err) {
    ctx.log.warn({ module: 'api-system', err }, `${what} provider failed`);
    return [];
  }
}

/** Everything the System page shows, from the bridge state and the configuration. */
export function systemSnapshot(ctx: AppContext): Obj {
  const state = ctx.bridge.state();
  const health = new Map(orEmpty(ctx, 'backend health', () => ctx.backends.health()).map((h) => [h.role, h]));
  const infos = new Map(orEmpty(ctx, 'model info', () => ctx.models?.info() ?? []).map((i) => [i.role, i]));
  const models: SystemModel[] = Object.entries(ctx.config.models).map(([role, spec]) => {
    const info = infos.get(role);
    const h = health.get(role);
    return {
      role,
      name: spec.name || spec.model || spec.gguf_file || role,
      backend: spec.backend,
      enabled: spec.enabled,
      loaded: info?.loaded === true || h?.state === 'ready',
      memory_mb: (info?.loaded ? info.measuredMb || info.estimatedMb || 0 : spec.max_memory_mb) || 0,
      state: h?.state ?? (spec.enabled ? 'idle' : 'disabled'),
      ...(h?.problem ? { problem: h.problem } : {}),
    };
  });
  const queues = isObj(state['queues']) ? state['queues'] : {};
  return {
    version: ctx.version,
    status: state['status'],
    started_at: state['started_at'],
    uptime_s: state['uptime_s'],
    memory_mb: state['memory_mb'],
    budget_mb: ctx.config.memory.budget_mb,
    hard_limit_mb: ctx.config.memory.hard_limit_mb,
    models_loaded_mb: models.filter((m) => m.loaded).reduce((s, m) => s + m.memory_mb, 0),
    models,
    queue_depth: Number(state['queue_depth'] ?? 0),
    queues,
    cameras: Object.keys(ctx.config.cameras),
    satellites: Object.keys(ctx.config.satellites),
    mqtt: { connected: ctx.mqtt.connected, base_topic: ctx.config.mqtt.base_topic },
    errors: ctx.errors.recent.slice(0, 20),
    // the start-up pull (bytes, percent, ETA) and the "no models yet" item, as on sarai/bridge/state
    ...(isObj(state['downloads']) ? { downloads: state['downloads'] } : {}),
    ...(typeof state['models_notice'] === 'string' ? { models_notice: state['models_notice'] } : {}),
    live_clients: liveClientCount(ctx),
  };
}

/** GET /api/system: version, uptime, models with memory, budget, queues, backend health, errors. */
export function registerSystemRoutes(ctx: AppContext): void {
  ctx.http.route('GET', '/api/system', ({ res }) => sendJson(res, 200, systemSnapshot(ctx)));
}
