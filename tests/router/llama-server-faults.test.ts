import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realTinyModelPath } from '../fixtures/gguf/real-model.js';
import { LlamaServer, realLlamaServerPath } from '../fixtures/llama-server.js';
import { harness, type Harness } from './harness.js';

/**
 * The openai backend against the REAL llama.cpp llama-server (shared/bin) on the tiny random
 * llama-2 GGUF, through the real router and registry: the expert's server is SIGKILLed in the
 * middle of a streamed answer, SIGSTOPped (a hang: the kernel still accepts the connection)
 * past timeout_s, and restarted. Each time the question is answered by the fallback (a second
 * real llama-server) within the deadline, two failures open the expert's circuit, one probe
 * after circuit_reset_s closes it again once the server is back, and nothing is left pending:
 * not in the role's limiter, not in the metrics (every call has an outcome), not in the
 * server's slots.
 */
const bin = realLlamaServerPath();
const model = realTinyModelPath();
const TIMEOUT_S = 2;

async function outcomes(h: Harness, role: string): Promise<Record<string, number>> {
  const m = await h.metrics.getSingleMetric('sarai_backend_requests_total')?.get();
  const out: Record<string, number> = {};
  for (const v of m?.values ?? []) if (v.labels['role'] === role && v.labels['op'] === 'answer') out[String(v.labels['outcome'])] = (out[String(v.labels['outcome'])] ?? 0) + v.value;
  return out;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!bin || !model)('openai backend against a real llama-server that dies, hangs and comes back', () => {
  let tiny: LlamaServer;
  beforeAll(async () => {
    tiny = await LlamaServer.start(bin as string, model as string);
  }, 90_000);
  afterAll(async () => {
    await tiny?.stop();
  });

  async function setup(): Promise<{ server: LlamaServer; h: Harness }> {
    const server = await LlamaServer.start(bin as string, model as string);
    const h = harness(
      {
        tiny: { backend: 'openai', url: tiny.url, model: 'tiny-random', max_tokens: 8 },
        // 200 tokens: the answer streams long enough to be cut in the middle
        expert: { backend: 'openai', url: server.url, model: 'tiny-random', timeout_s: TIMEOUT_S, max_tokens: 200, fallbacks: ['tiny'] },
      },
      { circuit_failures: 2, circuit_reset_s: 30 },
    );
    return { server, h };
  }
  const idle = (h: Harness) => ({ active: h.registry.get('expert')?.limiter.active, queued: h.registry.get('expert')?.limiter.queued });

  it('SIGKILLed mid-answer, then down, then restarted: fails over in time, the circuit opens and closes, nothing pending', async () => {
    const { server, h } = await setup();
    const ask = (onToken: () => void = () => {}) => h.router.answer('explain the theory', { role: 'expert', onToken });
    try {
      const healthy = await ask();
      expect(healthy.route).toBe('expert');
      expect(healthy.value.text.length).toBeGreaterThan(0);

      // killed while its answer streams: the first token is the moment
      let tokens = 0;
      let killed: Promise<void> | undefined;
      const t0 = Date.now();
      const cut = await ask(() => {
        if (tokens++ === 0) killed = server.signal('SIGKILL');
      });
      await killed;
      expect(tokens).toBeGreaterThan(0);
      expect(cut.route).toBe('tiny');
      expect(cut.reason).toMatch(/expert failed \(/);
      expect(Date.now() - t0).toBeLessThan(TIMEOUT_S * 1000 + 10_000); // the fallback answers on a loaded machine
      expect(idle(h)).toEqual({ active: 0, queued: 0 });

      // down: the connection is refused at once
      const refused = await ask();
      expect(refused.route).toBe('tiny');
      expect(refused.reason).toMatch(/expert failed \(.*(ECONNREFUSED|fetch failed|connect)/i);
      expect(h.registry.get('expert')?.circuit.state).toBe('open');
      expect((await ask()).reason).toMatch(/expert circuit open after 2 failures -> tiny/);

      // back on the same port: one probe after circuit_reset_s closes the circuit
      await server.launch();
      h.clock.now += 30_000;
      const back = await ask();
      expect(back.route).toBe('expert');
      expect(h.registry.get('expert')?.circuit.state).toBe('closed');
      expect(idle(h)).toEqual({ active: 0, queued: 0 });
      // every call that reached the expert has an outcome: 2 answered, 2 failed; the open circuit's is not a call
      expect(await outcomes(h, 'expert')).toEqual({ ok: 2, error: 2 });
      expect(await outcomes(h, 'tiny')).toEqual({ ok: 3 }); // the cut, the refused and the circuit-open questions
      expect((await server.slots()).filter((s) => s.is_processing)).toEqual([]);
    } finally {
      await h.stop();
      await server.stop();
    }
  }, 120_000);

  it('SIGSTOPped (hangs with its port open) past timeout_s, then continued: fails over at the deadline, the circuit opens and closes, its slots are freed', async () => {
    const { server, h } = await setup();
    const ask = () => h.router.answer('explain the theory', { role: 'expert', onToken: () => {} });
    try {
      expect((await ask()).route).toBe('expert');
      await server.signal('SIGSTOP');
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now();
        const r = await ask();
        const ms = Date.now() - t0;
        expect(r.route).toBe('tiny');
        expect(r.reason).toMatch(new RegExp(`no answer within ${TIMEOUT_S} s \\(timeout_s\\)`));
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
        expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 10_000);
        expect(idle(h)).toEqual({ active: 0, queued: 0 });
      }
      expect(h.registry.get('expert')?.circuit.state).toBe('open');

      // continued: the two abandoned requests find their connections closed and free the slots
      await server.signal('SIGCONT');
      await until(async () => (await server.slots()).every((s) => !s.is_processing), 30_000, 'the stopped server to drop the abandoned requests');
      h.clock.now += 30_000;
      const back = await ask();
      expect(back.route).toBe('expert');
      expect(h.registry.get('expert')?.circuit.state).toBe('closed');
      expect(idle(h)).toEqual({ active: 0, queued: 0 });
      expect(await outcomes(h, 'expert')).toEqual({ ok: 2, timeout: 2 });
      expect(await outcomes(h, 'tiny')).toEqual({ ok: 2 });
    } finally {
      await h.stop();
      await server.stop();
    }
  }, 120_000);
});
