import type { Config, ModelConfig } from '../config/schema/index.js';
import type { PoolPlace } from './pool.js';
import { BackendError, CapacityError, DisposedError, errorMessage, InputError, TimeoutError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import type { Logger } from '../log/logger.js';
import { Limiter } from '../models/limiter.js';
import { callDeadline, untilAborted } from '../core/abort.js';
import { CircuitBreaker, type CircuitState } from './circuit.js';
import { BackendMetrics } from './registry-metrics.js';
import { isPool, type ServerHealth } from './pool.js';
import type { Backend, BackendHealth, Capability } from './types.js';

/** What a backend kind's factory gets to build the backend for one role. */
export interface BackendFactoryContext {
  role: string;
  spec: ModelConfig;
  config: Config;
  /** Absolute models folder. */
  modelsDir: string;
  log: Logger;
  /** The registry's clock (breakers of pool servers follow it). */
  now: () => number;
  /** Math.random, or the registry's replacement (a pool's tie-breaks; tests). */
  random: () => number;
  /** Cluster mode: this worker's place among the group's live workers (a pool's home server). */
  poolPlace?: PoolPlace;
}

/** Builds a backend (the constructor only sets fields: the model loads on start()). */
export type BackendFactory = (ctx: BackendFactoryContext) => Backend;
/** A cheap check before start (a missing weight file): a message, or undefined when fine. */
export type BackendPreflight = (ctx: BackendFactoryContext) => string | undefined;

interface KindRegistration {
  create: BackendFactory;
  preflight?: BackendPreflight;
}

const KINDS = new Map<string, KindRegistration>();

/**
 * Makes a backend kind available to config roles (`models.<role>.backend: <kind>`). Open to
 * every module: the voice engineer registers `wyoming`/`espeak` this way. Registering a kind
 * again replaces it (the model manager may wrap the built-in `llama` factory). Call it at
 * module load, before the bridge starts.
 */
export function registerBackendKind(kind: string, create: BackendFactory, preflight?: BackendPreflight): void {
  KINDS.set(kind, { create, ...(preflight ? { preflight } : {}) });
}

export function backendKinds(): string[] {
  return [...KINDS.keys()];
}

/** One configured role: its backend plus the state the router needs to use it safely. */
export interface BackendEntry {
  readonly role: string;
  readonly kind: string;
  readonly spec: ModelConfig;
  readonly backend: Backend;
  readonly circuit: CircuitBreaker;
  readonly limiter: Limiter;
  /** Why the last start failed; cleared by a successful start. */
  startError?: string;
  /** ms since epoch of the last failed start. */
  startFailedAt?: number;
  started: boolean;
  /** The role's position in config order (disposal runs in reverse). */
  readonly order: number;
  /** Owned by another service (not disposed here). */
  readonly external: boolean;
}

/** A role's state for /metrics, the bridge device and `sarai describe`. */
export interface RoleHealth {
  role: string;
  kind: string;
  model: string;
  up: boolean;
  state: BackendHealth['state'];
  circuit: CircuitState;
  problem?: string;
  /** A pool's servers (models.<role>.urls), each with its own breaker. */
  servers?: ServerHealth[];
}

export interface BackendRegistryOptions {
  config: Config;
  modelsDir: string;
  log: Logger;
  /** prom-client registry for the sarai_backend_* metrics (none: no metrics). */
  metrics?: import('prom-client').Registry;
  /**
   * Backends another service owns (the model manager's llama roles, with its memory budget):
   * used as they are and never disposed here. That service must start first.
   */
  external?: (role: string, spec: ModelConfig) => Backend | undefined;
  /** Overrides the global kind table (tests, benches). */
  kinds?: Map<string, BackendFactory>;
  now?: () => number;
  /** Replaces Math.random for pools (which of several unmeasured servers goes first). */
  random?: () => number;
  /** Cluster mode: this worker's place in its group, so workers sharing a pool start on different servers. */
  poolPlace?: PoolPlace;
}

/**
 * The backends of the configured roles (Frigate's provider registry): built from
 * config.models at start (disabled roles skipped; kinds nobody registered skipped with a
 * warning), started lazily on first use, and a backend that cannot start is retried at most
 * every router.retry_start_s instead of failing the bridge. Each role has a circuit breaker
 * and a concurrency limiter; `invoke` runs one call through all of it with the role's
 * timeout_s. Stopping disposes every backend, last configured first.
 */
export class BackendRegistry implements Service {
  readonly name = 'backends';
  private readonly entries = new Map<string, BackendEntry>();
  private readonly skipped = new Map<string, string>();
  /** Enabled roles that could not be built (unknown kind, bad config): problems on the bridge, not silence. */
  private readonly broken = new Map<string, { kind: string; model: string; short: string; problem: string }>();
  private readonly starting = new Map<string, Promise<Backend>>();
  private readonly metrics?: BackendMetrics;
  private readonly now: () => number;
  private built = false;
  private stopped = false;
  private readonly healthListeners: (() => void)[] = [];
  /** Roles that were usable at the last check (to tell listeners only about changes). */
  private lastUp = new Map<string, boolean>();

  constructor(private readonly opts: BackendRegistryOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.metrics) this.metrics = new BackendMetrics(opts.metrics, () => this.health());
  }

  get config(): Config {
    return this.opts.config;
  }

  /** Builds the role table (no model loads: backends start on first use). */
  start(): Promise<void> {
    this.build();
    return Promise.resolve();
  }

  /** Idempotent; start() calls it, and so does any lookup (a CLI run without start). */
  build(): void {
    if (this.built) return;
    this.built = true;
    const { config, log } = this.opts;
    let order = 0;
    for (const [role, spec] of Object.entries(config.models)) {
      if (!spec.enabled) {
        this.skipped.set(role, `${role} is disabled (models.${role}.enabled: false)`);
        continue;
      }
      const reg = this.kindFor(spec.backend);
      if (!reg) {
        const problem = `no backend kind "${spec.backend}" is registered (known: ${this.knownKinds().join(', ')})`;
        const why = `${role}: ${problem}`;
        this.skipped.set(role, why);
        this.broken.set(role, { kind: spec.backend, model: spec.name || spec.model || role, short: 'has no backend kind', problem });
        log.warn({ module: 'backends', role, kind: spec.backend }, `${why}; role skipped`);
        continue;
      }
      const ctx = this.factoryContext(role, spec);
      let backend: Backend;
      const owned = this.opts.external?.(role, spec);
      try {
        backend = owned ?? reg.create(ctx);
      } catch (err) {
        const problem = `cannot build the ${spec.backend} backend: ${errorMessage(err)}`;
        const why = `${role}: ${problem}`;
        this.skipped.set(role, why);
        this.broken.set(role, { kind: spec.backend, model: spec.name || spec.model || role, short: problem, problem });
        log.warn({ module: 'backends', role, kind: spec.backend }, why);
        continue;
      }
      if (isPool(backend) && this.metrics) {
        const m = this.metrics;
        backend.observer = (server, outcome, ms) => m.observeServer({ role, kind: spec.backend }, server, outcome, ms);
      }
      this.entries.set(role, {
        role,
        kind: spec.backend,
        spec,
        backend,
        circuit: new CircuitBreaker(config.router.circuit_failures, config.router.circuit_reset_s * 1000, this.now),
        limiter: new Limiter(`${role} (${backend.model})`, spec.concurrency, spec.queue_limit),
        started: false,
        order: order++,
        external: owned !== undefined,
      });
      const problem = reg.preflight?.(ctx);
      if (problem) {
        // Reported now (not at first use) so a missing model shows on the bridge at start.
        this.markStartFailed(this.entries.get(role) as BackendEntry, problem);
        log.warn({ module: 'backends', role, kind: spec.backend }, problem);
      }
    }
    log.info({ module: 'backends', roles: [...this.entries.keys()], skipped: [...this.skipped.keys()] }, 'backend roles');
    for (const role of this.entries.keys()) this.lastUp.set(role, this.unavailable(role) === undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.entries.values()].sort((a, b) => b.order - a.order);
    for (const e of all) {
      e.limiter.rejectAll(new DisposedError(`${e.role}: bridge stopping`));
      if (e.external) continue;
      try {
        await e.backend.dispose();
      } catch (err) {
        this.opts.log.error({ module: 'backends', role: e.role, err: errorMessage(err) }, 'dispose failed');
      }
    }
    this.entries.clear();
  }

  roles(): string[] {
    this.build();
    return [...this.entries.keys()];
  }

  get(role: string): BackendEntry | undefined {
    this.build();
    return this.entries.get(role);
  }

  has(role: string, cap: Capability): boolean {
    return this.get(role)?.backend.capabilities.has(cap) ?? false;
  }

  /** Why a role is not usable now, or undefined when it is (for route reasons). */
  unavailable(role: string): string | undefined {
    const e = this.get(role);
    if (!e) return this.broken.get(role)?.short ?? (this.skipped.has(role) ? 'disabled' : 'not configured');
    if (e.startError && e.startFailedAt !== undefined) {
      const wait = e.startFailedAt + this.retryMs - this.now();
      if (wait > 0) return `failed to start, retry in ${Math.ceil(wait / 1000)} s`;
    }
    if (!e.circuit.wouldAllow()) return `circuit open after ${e.circuit.failures} failures`;
    return undefined;
  }

  /** Starts the role's backend if needed; a start failure is not retried before retry_start_s. */
  ready(role: string, signal?: AbortSignal): Promise<Backend> {
    const e = this.get(role);
    if (!e) return Promise.reject(new BackendError(`${role}: ${this.skipped.get(role) ?? 'no such role in config.models'}`));
    if (this.stopped) return Promise.reject(new DisposedError(`${role}: bridge stopping`));
    if (e.started && e.backend.health().state !== 'failed') return Promise.resolve(e.backend);
    if (e.startError && e.startFailedAt !== undefined && this.now() - e.startFailedAt < this.retryMs) {
      const wait = Math.ceil((e.startFailedAt + this.retryMs - this.now()) / 1000);
      return Promise.reject(new BackendError(`${role}: ${e.startError} (next start attempt in ${wait} s)`));
    }
    let p = this.starting.get(role);
    if (!p) {
      p = this.startEntry(e, signal).finally(() => this.starting.delete(role));
      this.starting.set(role, p);
    }
    return p;
  }

  /**
   * One call on a role's backend: concurrency slot (queue_limit, else CapacityError), circuit
   * (open: BackendError at once), lazy start, and a deadline of timeout_s that holds even if
   * the backend ignores its signal. Failures other than bad input and the caller's own abort
   * count against the circuit.
   */
  async invoke<T>(role: string, signal: AbortSignal | undefined, fn: (backend: Backend, signal: AbortSignal) => Promise<T>, op = 'call'): Promise<T> {
    const e = this.get(role);
    if (!e) throw new BackendError(`${role}: ${this.skipped.get(role) ?? 'no such role in config.models'}`);
    const started = this.now();
    const release = await e.limiter.acquire(signal);
    const deadline = callDeadline(role, e.spec.timeout_s, undefined, signal);
    const callSignal = deadline.signal;
    let let_through = false;
    try {
      if (!e.circuit.allow()) {
        const at = e.circuit.retryAt;
        const wait = at === undefined ? '' : ` (probe in ${Math.max(0, Math.ceil((at - this.now()) / 1000))} s)`;
        throw new BackendError(`${role}: circuit open after ${e.circuit.failures} consecutive failures${wait}`);
      }
      let_through = true;
      const backend = await untilAborted(this.ready(role, callSignal), callSignal);
      const value = await untilAborted(fn(backend, callSignal), callSignal);
      e.circuit.success();
      this.metrics?.observe(e, op, 'ok', this.now() - started);
      return value;
    } catch (raw) {
      const err = deadline.timedOut() ? deadline.mapError(raw) : raw;
      if (let_through) {
        if (err instanceof InputError || err instanceof DisposedError || (signal?.aborted && !deadline.timedOut()) || !e.started) e.circuit.release();
        else e.circuit.failure();
      }
      this.metrics?.observe(e, op, outcomeOf(err), this.now() - started);
      throw err;
    } finally {
      deadline.done();
      release();
      this.checkHealthChange();
    }
  }

  /**
   * Called when a role becomes usable or unusable (start failed or succeeded, circuit opened
   * or closed): the bridge device republishes its state so the problem sensor follows.
   */
  onHealthChange(fn: () => void): void {
    this.healthListeners.push(fn);
  }

  private checkHealthChange(): void {
    if (this.healthListeners.length === 0) return;
    let changed = false;
    for (const role of this.entries.keys()) {
      const up = this.unavailable(role) === undefined;
      if (this.lastUp.get(role) !== up) {
        this.lastUp.set(role, up);
        changed = true;
      }
    }
    if (!changed) return;
    for (const fn of this.healthListeners) {
      try {
        fn();
      } catch (err) {
        this.opts.log.error({ module: 'backends', err: errorMessage(err) }, 'health listener failed');
      }
    }
  }

  /** Every configured role's state, plus the enabled ones that could not be built. */
  health(): RoleHealth[] {
    const out: RoleHealth[] = [];
    for (const e of this.entries.values()) {
      const h = e.backend.health();
      const problem = this.unavailable(e.role) ? (e.startError ?? h.lastError ?? this.unavailable(e.role)) : undefined;
      out.push({
        role: e.role,
        kind: e.kind,
        model: e.backend.model,
        up: this.unavailable(e.role) === undefined,
        state: e.startError ? 'failed' : h.state,
        circuit: e.circuit.state,
        ...(problem ? { problem } : {}),
        ...(isPool(e.backend) ? { servers: e.backend.servers() } : {}),
      });
    }
    for (const [role, b] of this.broken) out.push({ role, kind: b.kind, model: b.model, up: false, state: 'failed', circuit: 'closed', problem: b.problem });
    return out;
  }

  /** Fields for the bridge device state (`backend_problem` drives the problem binary_sensor). */
  bridgeState(): Record<string, unknown> {
    const h = this.health();
    const problems = h.filter((r) => !r.up).map((r) => `${r.role}: ${r.problem ?? 'down'}`);
    return {
      backend_problem: problems.length > 0,
      backend_problems: problems,
      backends: Object.fromEntries(
        h.map((r) => [
          r.role,
          {
            kind: r.kind,
            model: r.model,
            up: r.up,
            state: r.state,
            circuit: r.circuit,
            ...(r.servers ? { servers: r.servers.map((s) => ({ server: s.server, up: s.up, circuit: s.circuit })) } : {}),
          },
        ]),
      ),
    };
  }

  // --- internals ---

  private get retryMs(): number {
    return this.opts.config.router.retry_start_s * 1000;
  }

  private async startEntry(e: BackendEntry, signal?: AbortSignal): Promise<Backend> {
    const reg = this.kindFor(e.kind);
    const problem = reg?.preflight?.(this.factoryContext(e.role, e.spec));
    if (problem) {
      this.markStartFailed(e, problem);
      throw new BackendError(problem);
    }
    try {
      await e.backend.start(signal);
      e.started = true;
      e.startError = undefined;
      e.startFailedAt = undefined;
      return e.backend;
    } catch (err) {
      if (signal?.aborted) throw err; // the caller gave up: not the backend's fault
      this.markStartFailed(e, errorMessage(err));
      this.opts.log.warn({ module: 'backends', role: e.role, kind: e.kind, retry_s: this.opts.config.router.retry_start_s, err: errorMessage(err) }, 'backend failed to start; will retry');
      throw err instanceof BackendError || err instanceof InputError ? err : new BackendError(`${e.role}: ${errorMessage(err)}`);
    }
  }

  private markStartFailed(e: BackendEntry, why: string): void {
    e.startError = why;
    e.startFailedAt = this.now();
    e.started = false;
  }

  private kindFor(kind: string): KindRegistration | undefined {
    if (this.opts.kinds) {
      const create = this.opts.kinds.get(kind);
      return create ? { create } : undefined;
    }
    return KINDS.get(kind);
  }

  private knownKinds(): string[] {
    return this.opts.kinds ? [...this.opts.kinds.keys()] : backendKinds();
  }

  private factoryContext(role: string, spec: ModelConfig): BackendFactoryContext {
    return { role, spec, config: this.opts.config, modelsDir: this.opts.modelsDir, log: this.opts.log, now: this.now, random: this.opts.random ?? Math.random, ...(this.opts.poolPlace ? { poolPlace: this.opts.poolPlace } : {}) };
  }
}

function outcomeOf(err: unknown): string {
  if (err instanceof TimeoutError) return 'timeout';
  if (err instanceof CapacityError) return 'busy';
  if (err instanceof InputError) return 'bad_input';
  return 'error';
}
