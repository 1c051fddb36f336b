import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { CapacityError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import { ModelManager, type ModelEvent } from '../../src/models/manager.js';
import { silentLog } from '../backends/llama-helpers.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';

const tmp = tempModelDir();
let managers: ModelManager[] = [];

beforeAll(() => {
  for (const [i, name] of ['p', 'a', 'b', 'c'].entries()) tinyLlamaFile(path.join(tmp.dir, `${name}.gguf`), { seed: i + 1 });
});
afterEach(async () => {
  for (const m of managers) await m.stop();
  managers = [];
});
afterAll(() => tmp.cleanup());

/** Roles on the generated models, 100 MB each by max_memory_mb (larger than the tiny files' own estimate). */
function manager(budgetMb: number, roles: Record<string, Record<string, unknown>>, metrics?: Metrics): { m: ModelManager; events: ModelEvent[] } {
  const models: Record<string, Record<string, unknown>> = {};
  for (const [role, extra] of Object.entries(roles)) {
    models[role] = { backend: 'llama', gguf_file: `${extra['file'] ?? role}.gguf`, max_memory_mb: 100, context_length: 256, max_tokens: 4, temperature: 0, ...extra };
    delete models[role]['file'];
  }
  const config = configFromObject({ models_dir: tmp.dir, models, runtime: { threads: 1, probe_load: false }, memory: { budget_mb: budgetMb } }, 'test');
  const m = new ModelManager({ config, baseDir: tmp.dir, log: silentLog, ...(metrics ? { metrics } : {}) });
  managers.push(m);
  const events: ModelEvent[] = [];
  m.onEvent((e) => events.push(e));
  return { m, events };
}

async function ask(m: ModelManager, role: string): Promise<void> {
  const b = m.backend(role);
  if (!b) throw new Error(`no backend ${role}`);
  await b.generate({ messages: [{ role: 'user', content: 'hi' }] });
}
const loaded = (m: ModelManager) => m.info().filter((i) => i.loaded).map((i) => i.role).sort();
const evicted = (events: ModelEvent[]) => events.flatMap((e) => (e.type === 'unloaded' && e.reason === 'evicted' ? [e.role] : []));

describe('ModelManager under a memory budget', () => {
  it('evicts the least recently used auto_unload model and never the pinned one', async () => {
    const metrics = new Metrics();
    // budget fits two of the three 100 MB models
    const { m, events } = manager(250, { p: { auto_unload: false }, a: {}, b: {} }, metrics);
    await m.start();
    expect(loaded(m)).toEqual([]); // lazy
    await ask(m, 'p');
    await ask(m, 'a');
    expect(loaded(m)).toEqual(['a', 'p']);
    await ask(m, 'b'); // a is the only evictable model
    expect(loaded(m)).toEqual(['b', 'p']);
    await ask(m, 'a'); // now b goes
    await ask(m, 'p');
    await ask(m, 'b'); // and a again: p stays through all of it
    expect(evicted(events)).toEqual(['a', 'b', 'a']);
    expect(loaded(m)).toEqual(['b', 'p']);
    expect(m.usedMb()).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/sarai_model_evictions_total\{role="a"\} 2/);
    expect(text).toMatch(/sarai_model_loaded\{role="p"\} 1/);
    expect(text).toMatch(/sarai_model_memory_estimated_bytes\{role="p"\} 104857600/);
    expect(text).toMatch(/sarai_model_memory_measured_bytes\{role="b"\} [1-9]\d+/);
  });

  it('picks the least recently used among several candidates', async () => {
    const { m, events } = manager(350, { p: { auto_unload: false }, a: {}, b: {}, c: {} });
    await m.start();
    for (const r of ['p', 'a', 'b']) await ask(m, r);
    await ask(m, 'a'); // b is now the least recently used
    await ask(m, 'c');
    expect(evicted(events)).toEqual(['b']);
    expect(loaded(m)).toEqual(['a', 'c', 'p']);
  });

  it('refuses a model larger than the whole budget, clearly', async () => {
    const { m } = manager(250, { a: { max_memory_mb: 300 } });
    await m.start();
    const err = await ask(m, 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect((err as Error).message).toMatch(/needs ~300 MB, more than memory.budget_mb \(250 MB\)/);
  });

  it('refuses a load when only pinned models hold the memory', async () => {
    const { m } = manager(250, { p: { auto_unload: false, max_memory_mb: 200 }, a: {} });
    await m.start();
    await ask(m, 'p');
    const err = await ask(m, 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect((err as Error).message).toMatch(/held by p ~200 MB \(pinned\)/);
  });

  it('unloads an idle model after idle_unload_s', async () => {
    const { m, events } = manager(1000, { a: { idle_unload_s: 0.2 } });
    await m.start();
    const unloaded = new Promise<ModelEvent>((resolve) => m.onEvent((e) => e.type === 'unloaded' && resolve(e)));
    await ask(m, 'a');
    expect(loaded(m)).toEqual(['a']);
    await expect(unloaded).resolves.toEqual({ type: 'unloaded', role: 'a', reason: 'idle' });
    expect(loaded(m)).toEqual([]);
    await ask(m, 'a'); // loads again on demand
    expect(events.filter((e) => e.type === 'loaded')).toHaveLength(2);
  });

  it('warms up at start and reports other backends with their max_memory_mb', async () => {
    const models = {
      tiny: { backend: 'llama', gguf_file: 'a.gguf', max_memory_mb: 50, context_length: 256, warm_up: true },
      expert: { backend: 'ollama', url: 'http://127.0.0.1:11434', model: 'solar', max_memory_mb: 6000 },
    };
    const config = configFromObject({ models_dir: tmp.dir, models, runtime: { threads: 1, probe_load: false } }, 'test');
    const m = new ModelManager({ config, baseDir: tmp.dir, log: silentLog });
    managers.push(m);
    await m.start();
    const info = m.info();
    expect(info.find((i) => i.role === 'tiny')).toMatchObject({ loaded: true, present: true, estimatedMb: 50, state: 'ready', file: path.join(tmp.dir, 'a.gguf') });
    expect(info.find((i) => i.role === 'expert')).toMatchObject({ loaded: false, backend: 'ollama', estimatedMb: 6000, state: 'external' });
    await m.stop();
    expect(m.info().find((i) => i.role === 'tiny')?.loaded).toBe(false);
  });

  it('check-config rejects pinned models that exceed the budget on their own', () => {
    const make = (budget: number) =>
      configFromObject(
        {
          models: {
            omni: { backend: 'openai', url: 'http://127.0.0.1:8080/v1', max_memory_mb: 4900, auto_unload: false },
            tiny: { backend: 'llama', gguf_file: 'x.gguf', max_memory_mb: 700, auto_unload: false },
            expert: { backend: 'ollama', url: 'http://192.168.0.251:11434', max_memory_mb: 9000, auto_unload: false },
          },
          memory: { budget_mb: budget, hard_limit_mb: 16000 },
        },
        'test.yaml',
      );
    expect(() => make(5600)).not.toThrow(); // the remote expert does not count
    let err: unknown;
    try {
      make(5000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContain(
      'memory.budget_mb: pinned models (auto_unload: false) need 5600 MB (omni 4900 MB, tiny 700 MB), more than the budget of 5000 MB',
    );
  });
});
