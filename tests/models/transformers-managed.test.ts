import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransformersBackend } from '../../src/backends/transformers/backend.js';
import { configFromObject } from '../../src/config/load.js';
import { CapacityError } from '../../src/core/errors.js';
import { ModelManager, type ModelEvent } from '../../src/models/manager.js';
import { createModelLayer, startModelLayer, stopModelLayer } from '../../src/router/model-layer.js';
import { silentLog } from '../backends/llama-helpers.js';
import { tempModelDir } from '../fixtures/gguf/tiny-llama.js';
import { makeTinyAsr, makeTinyTts } from '../fixtures/onnx/index.js';

/**
 * transformers.js roles under the model manager (issue 12, item 3): warm_up, idle_unload_s
 * and auto_unload act on them as on GGUF roles, and their memory counts against
 * memory.budget_mb. Real ONNX Runtime sessions on the tiny models the fixtures write.
 */
const tmp = tempModelDir('sarai-tf-managed-');
let ttsDir = '';
let sttDir = '';
const managers: ModelManager[] = [];

beforeAll(async () => {
  ttsDir = (await makeTinyTts(path.join(tmp.dir, 'tts'))).dir;
  sttDir = (await makeTinyAsr(path.join(tmp.dir, 'stt'))).dir;
}, 60_000);
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
});
afterAll(() => tmp.cleanup());

function manager(budgetMb: number, tts: Record<string, unknown> = {}, stt: Record<string, unknown> = {}) {
  const config = configFromObject(
    {
      models_dir: tmp.dir,
      runtime: { onnx_threads: 1 },
      memory: { budget_mb: budgetMb },
      models: {
        tts: { backend: 'transformers', model: ttsDir, task: 'text-to-speech', max_memory_mb: 60, ...tts },
        stt: { backend: 'transformers', model: sttDir, task: 'automatic-speech-recognition', max_memory_mb: 60, ...stt },
      },
    },
    'test',
  );
  const m = new ModelManager({ config, baseDir: tmp.dir, log: silentLog });
  managers.push(m);
  const events: ModelEvent[] = [];
  m.onEvent((e) => events.push(e));
  return { m, events, config };
}
const tf = (m: ModelManager, role: string) => {
  const b = m.managed(role);
  if (!(b instanceof TransformersBackend)) throw new Error(`${role} is not a managed transformers backend`);
  return b;
};
const loaded = (m: ModelManager) => m.info().filter((i) => i.loaded).map((i) => i.role).sort();

describe('transformers.js roles under the model manager', () => {
  it('evicts the least recently used transformers role to stay under memory.budget_mb', async () => {
    const { m, events } = manager(100);
    await m.start();
    expect(loaded(m)).toEqual([]); // lazy: nothing loads without warm_up
    await tf(m, 'tts').synthesize('hi');
    expect(loaded(m)).toEqual(['tts']);
    expect(m.usedMb()).toBe(60);
    await tf(m, 'stt').start();
    expect(loaded(m)).toEqual(['stt']);
    expect(events).toContainEqual({ type: 'unloaded', role: 'tts', reason: 'evicted' });
    expect(m.evictions).toBe(1);
  }, 60_000);

  it('never evicts a pinned role (auto_unload: false): the other load is refused with the reason', async () => {
    const { m } = manager(100, { auto_unload: false });
    await m.start();
    await tf(m, 'tts').start();
    const err = await tf(m, 'stt').start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect((err as Error).message).toMatch(/stt: needs ~60 MB but only 40 MB of memory.budget_mb \(100 MB\) can be freed; held by tts ~60 MB \(pinned\)/);
    expect(loaded(m)).toEqual(['tts']);
  }, 60_000);

  it('warm_up loads at start; idle_unload_s unloads after idling, and the next call loads again', async () => {
    const { m, events } = manager(1000, { warm_up: true, idle_unload_s: 0.3 });
    await m.start();
    expect(loaded(m)).toEqual(['tts']);
    await expect.poll(() => events.some((e) => e.type === 'unloaded' && e.role === 'tts' && e.reason === 'idle'), { timeout: 20_000, interval: 100 }).toBe(true);
    expect(loaded(m)).toEqual([]);
    const out = await tf(m, 'tts').synthesize('hi');
    expect(out.audio.samples.length).toBeGreaterThan(0);
    expect(loaded(m)).toEqual(['tts']);
  }, 60_000);

  it('the bridge registry serves the manager-owned instance, counted once', async () => {
    const { config } = manager(1000);
    const layer = createModelLayer(config, tmp.dir, silentLog, undefined, { baseDir: tmp.dir });
    await startModelLayer(layer);
    try {
      const entry = layer.backends.get('tts');
      expect(entry?.external).toBe(true);
      expect(entry?.backend).toBe(layer.manager?.managed('tts'));
      await tf(layer.manager as ModelManager, 'tts').start();
      expect(layer.manager?.usedMb()).toBe(60); // not 60 + the same session again as "external"
    } finally {
      await stopModelLayer(layer);
    }
  }, 60_000);
});
