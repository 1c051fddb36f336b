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
  /** Configured budget share (max_memory_mb), or measured size when a provider reports it (MB). */
  memory_mb: number;
  state: string;
  problem?: string;
}

/** Optional providers other modules add to the context; read by shape so none is required. */
interface HealthSource {
  health(): unknown;
}
function healthSource(ctx: AppContext): HealthSource | undefined {
  const v = (ctx as unknown as Obj)['backends'];
  return isObj(v) && typeof v['health'] === 'function' ? (v as unknown as HealthSource) : undefined;
}
/** The model manager (in-process loads with measured memory), when the context carries one. */
interface ModelInfoSource {
  info(): unknown;
}
function modelInfoSource(ctx: AppContext): ModelInfoSource | undefined {
  const v = (ctx as unknown as Obj)['models'];
  return isObj(v) && typeof v['info'] === 'function' ? (v as unknown as ModelInfoSource) : undefined;
}

function loadedNames(state: Obj): Map<string, Obj> {
  const out = new Map<string, Obj>();
  const list = state['loaded_models'];
  if (!Array.isArray(list)) return out;
  for (const m of list) {
    if (typeof m === 'string') out.set(m, { name: m });
    else if (isObj(m)) {
      const key = String(m['role'] ?? m['name'] ?? '');
      if (key) out.set(key, m);
    }
  }
  return out;
}

/** Everything the System page shows, from the bridge state and the configuration. */
export function systemSnapshot(ctx: AppContext): Obj {
  const state = ctx.bridge.state();
  const loaded = loadedNames(state);
  const health = new Map<string, Obj>();
  try {
    const h = healthSource(ctx)?.health() ?? state['backends'];
    if (Array.isArray(h)) for (const r of h) if (isObj(r) && typeof r['role'] === 'string') health.set(r['role'], r);
    if (isObj(h)) for (const [role, r] of Object.entries(h)) if (isObj(r)) health.set(role, r);
  } catch (err) {
    ctx.log.warn({ module: 'api-system', err }, 'backend health provider failed');
  }
  const infos = new Map<string, Obj>();
  try {
    const list = modelInfoSource(ctx)?.info();
    if (Array.isArray(list)) for (const i of list) if (isObj(i) && typeof i['role'] === 'string') infos.set(i['role'], i);
  } catch (err) {
    ctx.log.warn({ module: 'api-system', err }, 'model info provider failed');
  }
  const models: SystemModel[] = Object.entries(ctx.config.models).map(([role, spec]) => {
    const info = infos.get(role);
    const l = info?.['loaded'] === true ? { memory_mb: Number(info['measuredMb']) || Number(info['estimatedMb']) || 0 } : (loaded.get(role) ?? loaded.get(spec.name));
    const h = health.get(role);
    const problem = h?.['problem'] ?? h?.['lastError'];
    return {
      role,
      name: spec.name || spec.model || spec.gguf_file || role,
      backend: spec.backend,
      enabled: spec.enabled,
      loaded: Boolean(l) || h?.['state'] === 'ready',
      memory_mb: Number(l?.['memory_mb'] ?? spec.max_memory_mb) || 0,
      state: String(h?.['state'] ?? (spec.enabled ? 'idle' : 'disabled')),
      ...(typeof problem === 'string' && problem ? { problem } : {}),
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
    live_clients: liveClientCount(ctx),
  };
}

/** GET /api/system: version, uptime, models with memory, budget, queues, backend health, errors. */
export function registerSystemRoutes(ctx: AppContext): void {
  ctx.http.route('GET', '/api/system', ({ res }) => sendJson(res, 200, systemSnapshot(ctx)));
}
