import { BackendError, DisposedError, errorMessage, InputError } from '../core/errors.js';
import { redactUrl, type Logger } from '../log/logger.js';
import { CircuitBreaker, type CircuitState } from './circuit.js';
import type { Audio, Backend, BackendHealth, Capability, GenerateRequest, GenerateResult, TranscribeResult } from './types.js';

/** One server of a pool as /metrics and the bridge device see it. */
export interface ServerHealth {
  /** The URL without credentials (the metrics label). */
  server: string;
  up: boolean;
  circuit: CircuitState;
  inflight: number;
  /** Smoothed latency of its answered calls (ms); undefined before the first. */
  latencyMs?: number;
  problem?: string;
}

/** Told about each call a server took: the registry turns it into per-server metrics. */
export type ServerObserver = (server: string, outcome: 'ok' | 'error' | 'bad_input', ms: number) => void;

interface Member {
  readonly server: string;
  readonly backend: Backend;
  readonly circuit: CircuitBreaker;
  inflight: number;
  started: boolean;
  startError?: string;
  latencyMs?: number;
}

export interface BackendPoolOptions {
  role: string;
  /** One backend per URL (same kind, same model), in config order. */
  members: { url: string; backend: Backend }[];
  /** router.circuit_failures / circuit_reset_s, per server. */
  circuitFailures: number;
  circuitResetMs: number;
  log: Logger;
  now?: () => number;
  /** Replaces Math.random (which of several unmeasured servers goes first). */
  random?: () => number;
  /** Cluster mode: this worker's place among the group's live workers; it picks the worker's home server. */
  place?: PoolPlace;
}

/** Where this worker stands in its group: `index` among `of` live workers (sorted by id). */
export type PoolPlace = () => { index: number; of: number } | undefined;

/**
 * A home server is passed over when it is slower than this many times the fastest candidate
 * and also SLOW_MARGIN_MS more: a loaded server queues whole generations (hundreds of ms),
 * while a few ms between idle servers is jitter (a new connection, a GC pause), not load.
 */
const SLOW_FACTOR = 2;
const SLOW_MARGIN_MS = 100;

/** Weight of the newest call in the smoothed latency. */
const EWMA = 0.3;

/**
 * A role served by several model servers (models.<role>.urls): each call goes to the healthy
 * server with the fewest calls in flight (ties: the lowest smoothed latency), through that
 * server's own circuit breaker. A server that fails (unreachable, 5xx,
 * its own deadline) counts against its breaker and the call moves on to the next server, so
 * one dead server costs no answer; only when every server failed does the call fail (and then
 * the role's breaker in the registry counts it). Bad input is not retried: another server
 * would refuse it too. A streamed answer that already gave tokens is not retried either (the
 * caller would see them twice).
 */
export class BackendPool implements Backend {
  readonly kind: string;
  readonly role: string;
  readonly model: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** Set by the registry when metrics are on. */
  observer?: ServerObserver;
  private readonly members: Member[];
  private readonly now: () => number;
  private disposed = false;

  constructor(private readonly opts: BackendPoolOptions) {
    const first = opts.members[0];
    if (!first) throw new BackendError(`${opts.role}: a pool needs at least one server`);
    this.kind = first.backend.kind;
    this.role = opts.role;
    this.model = first.backend.model;
    this.capabilities = first.backend.capabilities;
    this.now = opts.now ?? Date.now;
    this.members = opts.members.map((m) => ({
      server: redactUrl(m.url.replace(/\/+$/, '')),
      backend: m.backend,
      circuit: new CircuitBreaker(opts.circuitFailures, opts.circuitResetMs, this.now),
      inflight: 0,
      started: false,
    }));
  }

  /** Starts every server at once; ready when at least one answers (the others are retried when their breaker lets a probe through). */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
    const pending = this.members.filter((m) => !m.started);
    await Promise.all(pending.map((m) => this.startMember(m, signal).catch(() => undefined)));
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new BackendError(`${this.role}: aborted`);
    if (!this.members.some((m) => m.started)) throw new BackendError(`${this.role}: no server of the pool answers (${this.problems()})`);
  }

  health(): BackendHealth {
    if (this.members.some((m) => m.started && m.circuit.wouldAllow())) return { state: 'ready' };
    if (this.members.some((m) => m.started)) return { state: 'ready', lastError: this.problems() };
    if (this.members.every((m) => m.startError !== undefined)) return { state: 'failed', lastError: this.problems() };
    return { state: 'idle' };
  }

  servers(): ServerHealth[] {
    return this.members.map((m) => {
      const h = m.backend.health();
      const problem = m.startError ?? (m.circuit.state === 'closed' ? undefined : h.lastError);
      return {
        server: m.server,
        up: m.circuit.wouldAllow() && (m.started || m.startError === undefined),
        circuit: m.circuit.state,
        inflight: m.inflight,
        ...(m.latencyMs !== undefined ? { latencyMs: m.latencyMs } : {}),
        ...(problem ? { problem } : {}),
      };
    });
  }

  generate(req: GenerateRequest): Promise<GenerateResult> {
    let streamed = false;
    const onToken = req.onToken;
    const tracked: GenerateRequest = onToken
      ? {
          ...req,
          onToken: (t) => {
            streamed = true;
            onToken(t);
          },
        }
      : req;
    return this.run(req.signal, 'generate', (b) => (b.generate ? b.generate(tracked) : this.missing('generate')), () => streamed);
  }

  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    return this.run(signal, 'embed', (b) => (b.embed ? b.embed(texts, signal) : this.missing('embed')));
  }

  transcribe(audio: Audio, signal?: AbortSignal): Promise<TranscribeResult> {
    return this.run(signal, 'transcribe', (b) => (b.transcribe ? b.transcribe(audio, signal) : this.missing('transcribe')));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.members.map((m) => m.backend.dispose().catch(() => undefined)));
  }

  // --- internals ---

  /**
   * One call: the least busy server whose breaker allows it; on a server failure the next
   * one, until each was tried once. Every failure is named in the final error.
   */
  private async run<T>(signal: AbortSignal | undefined, op: string, call: (b: Backend) => Promise<T>, committed: () => boolean = () => false): Promise<T> {
    if (this.disposed) throw new DisposedError(`${this.role}: backend disposed`);
    const tried = new Set<Member>();
    const failures: string[] = [];
    for (;;) {
      const m = this.pick(tried);
      if (!m) {
        const skipped = this.members.filter((x) => !tried.has(x)).map((x) => `${x.server}: circuit ${x.circuit.state}`);
        throw new BackendError(`${this.role}: no server of the pool could ${op} (${[...failures, ...skipped].join('; ') || 'none configured'})`);
      }
      tried.add(m);
      if (!m.circuit.allow()) continue; // taken by a concurrent probe since pick()
      m.inflight++;
      const t0 = performance.now(); // real time: the breaker clock may be stepped
      try {
        if (!m.started) await this.startMember(m, signal);
        const value = await call(m.backend);
        const ms = performance.now() - t0;
        m.circuit.success();
        m.latencyMs = m.latencyMs === undefined ? ms : m.latencyMs + EWMA * (ms - m.latencyMs);
        this.observer?.(m.server, 'ok', ms);
        return value;
      } catch (err) {
        const ms = performance.now() - t0;
        if (err instanceof InputError || err instanceof DisposedError || signal?.aborted) {
          m.circuit.release();
          this.observer?.(m.server, err instanceof InputError ? 'bad_input' : 'error', ms);
          throw err;
        }
        m.circuit.failure();
        this.observer?.(m.server, 'error', ms);
        failures.push(`${m.server}: ${errorMessage(err)}`);
        if (committed()) throw err;
        this.opts.log.warn({ module: 'backends', role: this.role, server: m.server, circuit: m.circuit.state, err: errorMessage(err) }, 'pool server failed; trying the next one');
      } finally {
        m.inflight--;
      }
    }
  }

  /**
   * Fewest in flight (what this worker sees) among the servers not yet tried whose breaker
   * allows a call; among those the lowest smoothed latency, an unmeasured server first.
   * Latency is how a worker sees the others: a server that other workers also load answers
   * slower (it queues), so workers sharing a pool drift onto different servers. Measured in
   * bench/cluster-pool.ts: without load figures from the servers this is short of linear.
   */
  private pick(tried: Set<Member>): Member | undefined {
    let least: Member[] = [];
    for (const m of this.members) {
      if (tried.has(m) || !m.circuit.wouldAllow()) continue;
      if (least.length === 0 || m.inflight < (least[0] as Member).inflight) least = [m];
      else if (m.inflight === (least[0] as Member).inflight) least.push(m);
    }
    const home = this.fromHome(least);
    if (home) return home;
    // exact ties (unmeasured servers) from a random start: workers that start together on
    // one pool would otherwise explore it in lockstep and keep meeting on the same server
    const start = Math.floor((this.opts.random ?? Math.random)() * least.length);
    let best = least[start];
    for (let k = 1; k < least.length; k++) {
      const m = least[(start + k) % least.length] as Member;
      if (best && (m.latencyMs ?? 0) < (best.latencyMs ?? 0)) best = m;
    }
    return best;
  }

  /**
   * Cluster mode: workers that each see only their own calls keep meeting on one server, so
   * each worker starts from its own home server (index * servers / workers, from the group's
   * live workers, which every worker computes alike) and goes round from there; a server much
   * slower than the fastest candidate (others load it; see SLOW_FACTOR) is passed over. Undefined without a place.
   */
  private fromHome(candidates: Member[]): Member | undefined {
    const place = this.opts.place?.();
    if (!place || place.of < 1 || candidates.length === 0) return undefined;
    const n = this.members.length;
    const home = Math.floor((place.index * n) / place.of) % n;
    const fastest = Math.min(...candidates.map((m) => m.latencyMs ?? Infinity));
    const ordered = candidates.slice().sort((a, b) => ((this.members.indexOf(a) - home + n) % n) - ((this.members.indexOf(b) - home + n) % n));
    return ordered.find((m) => m.latencyMs === undefined || !Number.isFinite(fastest) || m.latencyMs <= fastest * SLOW_FACTOR + SLOW_MARGIN_MS) ?? ordered[0];
  }

  private async startMember(m: Member, signal?: AbortSignal): Promise<void> {
    try {
      await m.backend.start(signal);
      m.started = true;
      m.startError = undefined;
    } catch (err) {
      if (signal?.aborted) throw err;
      m.startError = errorMessage(err);
      // A server that does not start is kept off like one that fails calls, until its breaker lets a probe through.
      for (let i = 0; i < this.opts.circuitFailures; i++) m.circuit.failure();
      this.opts.log.warn({ module: 'backends', role: this.role, server: m.server, err: m.startError }, 'pool server failed to start');
      throw err;
    }
  }

  private problems(): string {
    return this.members
      .map((m) => `${m.server}: ${m.startError ?? m.backend.health().lastError ?? `circuit ${m.circuit.state}`}`)
      .join('; ');
  }

  private missing(op: string): never {
    throw new InputError(`${this.role}: ${this.model} cannot ${op}`);
  }
}

/** A backend that spreads calls over servers (for /metrics). */
export function isPool(b: Backend): b is BackendPool {
  return b instanceof BackendPool;
}
