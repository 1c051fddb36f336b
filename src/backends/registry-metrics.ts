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
}
