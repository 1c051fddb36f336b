import os from 'node:os';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../../src/backends/kinds.js';
import { BackendPool } from '../../src/backends/pool.js';
import { BackendRegistry } from '../../src/backends/registry.js';
import { configFromObject } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { BackendError, InputError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { OllamaServer } from '../fixtures/ollama-server.js';
import { CHAT, OpenAIServer } from '../fixtures/openai-server.js';
import { LlamaServer, llamaServerAvailable } from '../helpers/llama-server.js';

/**
 * models.<role>.urls: a pool of model servers behind one role. Against real llama-server
 * processes (tiny random model): concurrent calls spread evenly by least-busy, a SIGKILLed
 * server costs no answer and its breaker opens, and a restarted one is probed back in. Against
 * the openai/ollama fixtures: what is and is not retried on the next server.
 */
const log = createLogger('silent');

/** A registry whose clock is stepped by the test (breaker resets are not slept); unmeasured servers go in config order. */
function registryFor(
  role: Record<string, unknown>,
  router: Record<string, unknown> = {},
  poolPlace?: () => { index: number; of: number } | undefined,
): { registry: BackendRegistry; metrics: Registry; clock: { now: number } } {
  const config = configFromObject({ models: { tiny: role }, router: { circuit_failures: 2, circuit_reset_s: 30, ...router } }, 'test');
  const metrics = new Registry();
  const clock = { now: 1_000_000 };
  const registry = new BackendRegistry({ config, modelsDir: os.tmpdir(), log, metrics, now: () => clock.now, random: () => 0, ...(poolPlace ? { poolPlace } : {}) });
  registry.build();
  return { registry, metrics, clock };
}

const ask = (registry: BackendRegistry, text = 'hello') =>
  registry.invoke('tiny', undefined, (b, signal) => (b.generate as NonNullable<typeof b.generate>).call(b, { messages: [{ role: 'user', content: text }], maxTokens: 2, signal }), 'generate');

/** sarai_backend_server_<name> per server label. */
async function perServer(metrics: Registry, name: string, outcome?: string): Promise<Record<string, number>> {
  const all = await metrics.getMetricsAsJSON();
  const m = all.find((x) => x.name === `sarai_backend_server_${name}`) as { values: { value: number; labels: Record<string, string>; metricName?: string }[] } | undefined;
  const out: Record<string, number> = {};
  for (const v of m?.values ?? []) {
    if (outcome !== undefined && v.labels['outcome'] !== outcome) continue;
    if (v.metricName && !v.metricName.endsWith('_count') && name.endsWith('seconds')) continue;
    const k = v.labels['server'] as string;
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

const server = (url: string) => url.replace(/\/+$/, '');

describe.skipIf(!llamaServerAvailable())('a pool of real llama-servers', () => {
  let servers: LlamaServer[] = [];
  beforeAll(async () => {
    servers = await Promise.all([LlamaServer.start(), LlamaServer.start(), LlamaServer.start()]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('least busy: 6 calls at once go 2 to each server; per-server latency and health in /metrics', async () => {
    const urls = servers.map((s) => s.url);
    const { registry, metrics } = registryFor({ backend: 'openai', urls, model: 'tiny', concurrency: 6, max_tokens: 2 });
    try {
      await registry.ready('tiny');
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => ask(registry, `call ${i}`)));
      expect(answers.every((a) => typeof a.text === 'string' && a.tokens > 0)).toBe(true);
      expect(await perServer(metrics, 'requests_total', 'ok')).toEqual(Object.fromEntries(urls.map((u) => [server(u), 2])));
      expect(await perServer(metrics, 'up')).toEqual(Object.fromEntries(urls.map((u) => [server(u), 1])));
      expect(await perServer(metrics, 'inflight')).toEqual(Object.fromEntries(urls.map((u) => [server(u), 0])));
      const text = await metrics.metrics();
      for (const u of urls) expect(text).toContain(`sarai_backend_server_request_seconds_count{role="tiny",kind="openai",server="${server(u)}"} 2`);
      const pool = registry.get('tiny')?.backend as BackendPool;
      expect(pool.servers().every((s) => s.latencyMs !== undefined && s.latencyMs > 0)).toBe(true);
    } finally {
      await registry.stop();
    }
  }, 60_000);

  it('one server SIGKILLed: every call is answered by the others, its breaker opens; restarted, a probe closes it', async () => {
    const urls = servers.map((s) => s.url);
    const { registry, metrics, clock } = registryFor({ backend: 'openai', urls, model: 'tiny', max_tokens: 2, timeout_s: 20 });
    const victim = servers[1] as LlamaServer;
    const dead = server(victim.url);
    try {
      await ask(registry);
      const okBefore = (await perServer(metrics, 'requests_total', 'ok'))[dead] ?? 0;
      await victim.kill();
      // rounds of 3 calls at once: least busy sends one of each round to every server it allows
      const round = async (label: string) => (await Promise.all([0, 1, 2].map((i) => ask(registry, `${label} ${i}`)))).map((r) => r.tokens);
      for (let i = 0; i < 4; i++) for (const t of await round(`after kill ${i}`)) expect(t).toBeGreaterThan(0);
      expect((await perServer(metrics, 'requests_total', 'error'))[dead]).toBe(2); // circuit_failures, then skipped
      expect((await perServer(metrics, 'circuit_state'))[dead]).toBe(2);
      expect((await perServer(metrics, 'up'))[dead]).toBe(0);
      expect(registry.get('tiny')?.circuit.state).toBe('closed'); // the role never failed
      const bridge = registry.bridgeState() as { backend_problem: boolean };
      expect(bridge.backend_problem).toBe(false);

      await victim.launch();
      expect((await ask(registry, 'still open')).tokens).toBeGreaterThan(0);
      expect((await perServer(metrics, 'requests_total', 'ok'))[dead] ?? 0).toBe(okBefore); // open: not asked before circuit_reset_s
      clock.now += 30_000;
      expect((await perServer(metrics, 'circuit_state'))[dead]).toBe(1); // half-open: the next call may probe it
      await round('probe'); // three at once: one of them is the probe
      expect((await perServer(metrics, 'requests_total', 'ok'))[dead]).toBeGreaterThan(okBefore);
      expect((await perServer(metrics, 'circuit_state'))[dead]).toBe(0);
      expect((await perServer(metrics, 'up'))[dead]).toBe(1);
    } finally {
      await registry.stop();
      await victim.launch().catch(() => undefined);
    }
  }, 90_000);
});

describe('a pool on the openai and ollama fixtures', () => {
  let a: OpenAIServer;
  let b: OpenAIServer;
  // fresh servers per test: a scripted answer left unused must not leak into the next test
  beforeEach(async () => {
    a = await OpenAIServer.start({ model: 'm', reply: 'from a' });
    b = await OpenAIServer.start({ model: 'm', reply: 'from b' });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('a 500 from one server moves the call to the other; bad input (400) is not retried', async () => {
    const { registry } = registryFor({ backend: 'openai', urls: [a.url, b.url], model: 'm' });
    try {
      await registry.ready('tiny');
      const before = { a: a.peer.to(CHAT).length, b: b.peer.to(CHAT).length };
      a.next({ kind: 'error', status: 500, message: 'slot unavailable' });
      // a goes first (unmeasured, config order): its 500 moves the call on to b
      expect((await ask(registry)).text).toBe('from b');
      expect({ a: a.peer.to(CHAT).length - before.a, b: b.peer.to(CHAT).length - before.b }).toEqual({ a: 1, b: 1 });

      const n = a.peer.to(CHAT).length + b.peer.to(CHAT).length;
      a.next({ kind: 'error', status: 400, message: 'bad image' });
      b.next({ kind: 'error', status: 400, message: 'bad image' });
      await expect(ask(registry)).rejects.toBeInstanceOf(InputError);
      expect(a.peer.to(CHAT).length + b.peer.to(CHAT).length).toBe(n + 1);
    } finally {
      await registry.stop();
    }
  });

  it('cluster mode: each worker starts from its own home server (its place among the live workers), keeps it through ms of jitter, and passes over one much slower', async () => {
    const c = await OpenAIServer.start({ model: 'm', reply: 'from c' });
    const d = await OpenAIServer.start({ model: 'm', reply: 'from d' });
    const place = { index: 1, of: 2 };
    const { registry } = registryFor({ backend: 'openai', urls: [a.url, b.url, c.url, d.url], model: 'm' }, {}, () => place);
    try {
      await registry.ready('tiny');
      // worker 1 of 2 on 4 servers: home is the third server, every call while it is not busy
      for (let i = 0; i < 3; i++) expect((await ask(registry)).text).toBe('from c');
      place.index = 0; // the group changed (a worker left or joined): worker 0's home is the first
      // home a's first answer takes many times c's few ms, yet only ms more: jitter, not load
      a.next({ kind: 'slow', ms: 25 });
      expect((await ask(registry)).text).toBe('from a');
      for (let i = 0; i < 3; i++) expect((await ask(registry)).text).toBe('from a');
      // the home server slows down (other workers load it): the next one round from home takes over
      a.next({ kind: 'slow', ms: 1000 });
      expect((await ask(registry)).text).toBe('from a');
      expect((await ask(registry)).text).not.toBe('from a');
    } finally {
      await registry.stop();
      await c.close();
      await d.close();
    }
  });

  it('a stream that broke after tokens is not sent again (the caller saw them)', async () => {
    const { registry } = registryFor({ backend: 'openai', urls: [a.url, b.url], model: 'm' });
    try {
      await registry.ready('tiny');
      a.next({ kind: 'reset', after: 1 });
      b.next({ kind: 'reset', after: 1 });
      const n = a.peer.to(CHAT).length + b.peer.to(CHAT).length;
      const tokens: string[] = [];
      const call = registry.invoke('tiny', undefined, (be, signal) => (be.generate as NonNullable<typeof be.generate>).call(be, { messages: [{ role: 'user', content: 'x' }], onToken: (t) => tokens.push(t), signal }));
      await expect(call).rejects.toBeInstanceOf(BackendError);
      expect(tokens.length).toBeGreaterThan(0);
      expect(a.peer.to(CHAT).length + b.peer.to(CHAT).length).toBe(n + 1);
    } finally {
      await registry.stop();
    }
  });

  it('ollama: a server that is not there is skipped; all down names every server', async () => {
    const live = await OllamaServer.start({ reply: 'ollama answer' });
    const gone = await OllamaServer.start();
    const goneUrl = gone.url;
    await gone.close();
    const { registry, metrics } = registryFor({ backend: 'ollama', urls: [goneUrl, live.url], model: 'solar' });
    try {
      await registry.ready('tiny'); // one of two starts: the role is ready
      for (let i = 0; i < 4; i++) expect((await ask(registry)).text).toBe('ollama answer');
      expect((await perServer(metrics, 'up'))[goneUrl]).toBe(0);
      expect((await perServer(metrics, 'requests_total', 'ok'))[live.url]).toBe(4);
      await live.close();
      await expect(ask(registry)).rejects.toThrow(new RegExp(`no server of the pool could generate .*${live.url}.*${goneUrl}: circuit open`));
    } finally {
      await registry.stop();
    }
  });
});

describe('models.<role>.urls in config', () => {
  const bad = (role: Record<string, unknown>) => () => configFromObject({ models: { expert: role } }, 'test');
  it('is only for openai/ollama, takes http(s) base URLs once each, and /v1 for openai', () => {
    expect(bad({ backend: 'wyoming', urls: ['tcp://a:1'] })).toThrow(/models\.expert\.urls: a server pool is for backend openai or ollama/);
    expect(bad({ backend: 'openai', urls: ['http://a:8080'] })).toThrow(/models\.expert\.urls\[0\]: an OpenAI-compatible URL ends in \/v1/);
    expect(bad({ backend: 'ollama', urls: ['http://a:11434', 'http://a:11434/'] })).toThrow(/urls\[1\]: listed twice/);
    expect(bad({ backend: 'ollama', urls: ['not a url'] })).toThrow(/urls\[0\]: is not a URL/);
    expect(bad({ backend: 'ollama', urls: ['file:///etc/passwd'] })).toThrow(/urls\[0\]: must be http/);
    expect(bad({ backend: 'ollama', urls: ['http://a:1/?x=1'] })).toThrow(/no query or fragment/);
    expect(bad({ backend: 'ollama', urls: ['http://a:1'] })).not.toThrow();
    expect(bad({ backend: 'openai', url: '', urls: [] })).toThrow(/models\.expert\.url: is required for backend openai/);
    expect(bad({ backend: 'openai', urls: [] })).toThrow(ConfigError);
  });
});
