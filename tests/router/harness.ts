/**
 * A router over real backends for the router tests: omni and tiny on local OpenAI-compatible
 * servers, expert on a local Ollama server, vision/stt/tts/embedding on transformers.js with
 * the tiny ONNX fixtures. The registry's clock is a variable so circuit resets and start
 * retries are stepped, not slept.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import '../../src/backends/kinds.js';
import { BackendRegistry } from '../../src/backends/registry.js';
import { configFromObject } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { Router } from '../../src/router/router.js';
import { makeTinyAsr, makeTinyCaptioner, makeTinyEmbedder, makeTinyTts } from '../fixtures/onnx/index.js';

export const log = createLogger('silent');

export interface TinyModels {
  dir: string;
  vision: string;
  stt: string;
  tts: string;
  embedding: string;
  cleanup(): Promise<void>;
}

/** The transformers.js fixture folders (written once per test file). */
export async function tinyModels(): Promise<TinyModels> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sarai-router-'));
  const m = {
    vision: (await makeTinyCaptioner(path.join(dir, 'captioner'))).dir,
    stt: (await makeTinyAsr(path.join(dir, 'asr'))).dir,
    tts: (await makeTinyTts(path.join(dir, 'tts'))).dir,
    embedding: (await makeTinyEmbedder(path.join(dir, 'embedder'))).dir,
  };
  return { dir, ...m, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const EXEMPLARS = {
  tiny: ['turn on the kitchen lights', 'open the garage door', 'turn off the lamp'],
  expert: ['explain the quantum physics theory', 'compare the history of economics', 'why is philosophy a proof'],
};

export function transformersRoles(m: TinyModels): Record<string, Record<string, unknown>> {
  return {
    vision: { backend: 'transformers', model: m.vision, task: 'image-to-text', name: 'tiny-captioner', max_tokens: 8 },
    stt: { backend: 'transformers', model: m.stt, task: 'automatic-speech-recognition', name: 'tiny-asr' },
    tts: { backend: 'transformers', model: m.tts, task: 'text-to-speech', name: 'tiny-tts' },
    embedding: { backend: 'transformers', model: m.embedding, task: 'feature-extraction', name: 'tiny-embedder' },
  };
}

export interface Harness {
  registry: BackendRegistry;
  router: Router;
  metrics: Registry;
  clock: { now: number };
  stop(): Promise<void>;
}

export function harness(models: Record<string, Record<string, unknown>>, router: Record<string, unknown> = {}, modelsDir = os.tmpdir()): Harness {
  const config = configFromObject({ models, runtime: { onnx_threads: 1, threads: 1 }, router: { exemplars: EXEMPLARS, ...router } }, 'test');
  const clock = { now: 1_000_000 };
  const metrics = new Registry();
  const registry = new BackendRegistry({ config, modelsDir, log, metrics, now: () => clock.now });
  registry.build();
  return { registry, router: new Router(registry, log), metrics, clock, stop: () => registry.stop() };
}
