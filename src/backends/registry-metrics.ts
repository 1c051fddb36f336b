import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CircuitState } from './circuit.js';
import type { RoleHealth } from './registry.js';

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * The sarai_backend_* metrics: up and circuit state are read from the registry at scrape
 * time; requests and latency are counted per call.
 */
export class BackendMetrics {
  private readonly requests: Counter<'role' | 'kind' | 'op' | 'outcome'>;
  private readonly latency: Histogram<'role' | 'kind' | 'op'>;
  private readonly serverRequests: Counter<'role' | 'kind' | 'server' | 'outcome'>;
  private readonly serverLatency: Histogram<'role' | 'kind' | 'server'>;

  constructor(registry: Registry, health: () => RoleHealth[]) {
    const registers = [registry];
    new Gauge({
      name: 'sarai_backend_up',
      help: '1 when the role can take requests (started or startable, circuit not open)',
      labelNames: ['role', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const h of health()) this.set({ role: h.role, kind: h.kind }, h.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sarai_backend_circuit_state',
      help: 'Circuit breaker per role: 0 closed, 1 half-open, 2 open',
      labelNames: ['role', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const h of health()) this.set({ role: h.role, kind: h.kind }, CIRCUIT_VALUE[h.circuit]);
      },
    });
    // Pool servers (models.<role>.urls): one series per server, labelled by its URL without credentials.
    const servers = () => health().flatMap((h) => (h.servers ?? []).map((s) => ({ labels: { role: h.role, kind: h.kind, server: s.server }, s })));
    new Gauge({
      name: 'sarai_backend_server_up',
      help: 'Pool server (models.<role>.urls): 1 when its circuit lets calls through and it started or may start',
      labelNames: ['role', 'kind', 'server'],
      registers,
      collect() {
        this.reset();
        for (const { labels, s } of servers()) this.set(labels, s.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sarai_backend_server_circuit_state',
      help: 'Circuit breaker per pool server: 0 closed, 1 half-open, 2 open',
      labelNames: ['role', 'kind', 'server'],
      registers,
      collect() {
        this.reset();
        for (const { labels, s } of servers()) this.set(labels, CIRCUIT_VALUE[s.circuit]);
      },
    });
    new Gauge({
      name: 'sarai_backend_server_inflight',
      help: 'Calls in flight on each pool server (the pool sends the next call to the least busy)',
      labelNames: ['role', 'kind', 'server'],
      registers,
      collect() {
        this.reset();
        for (const { labels, s } of servers()) this.set(labels, s.inflight);
      },
    });
    this.serverRequests = new Counter({
      name: 'sarai_backend_server_requests_total',
      help: 'Calls each pool server took, by outcome (ok, error, bad_input); a failed server passes the call on to the next',
      labelNames: ['role', 'kind', 'server', 'outcome'],
      registers,
    });
    this.serverLatency = new Histogram({
      name: 'sarai_backend_server_request_seconds',
      help: 'Latency of each pool server (s), per call it took',
      labelNames: ['role', 'kind', 'server'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    this.requests = new Counter({
      name: 'sarai_backend_requests_total',
      help: 'Backend calls by role, operation and outcome (ok, error, timeout, busy, bad_input)',
      labelNames: ['role', 'kind', 'op', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: 'sarai_backend_request_seconds',
      help: 'Backend call latency (s), queueing and lazy start included',
      labelNames: ['role', 'kind', 'op'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
  }

  observe(e: { role: string; kind: string }, op: string, outcome: string, ms: number): void {
    this.requests.inc({ role: e.role, kind: e.kind, op, outcome });
    this.latency.observe({ role: e.role, kind: e.kind, op }, ms / 1000);
  }

  observeServer(e: { role: string; kind: string }, server: string, outcome: string, ms: number): void {
    this.serverRequests.inc({ role: e.role, kind: e.kind, server, outcome });
    this.serverLatency.observe({ role: e.role, kind: e.kind, server }, ms / 1000);
  }
}
