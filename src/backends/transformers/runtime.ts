import os from 'node:os';
import { env } from '@huggingface/transformers';
import type { Config } from '../../config/schema/index.js';

export type RuntimeConfig = Config['runtime'];

/** config.runtime.onnx_threads: 0 means cores - 1, at least 1. */
export function resolveOnnxThreads(threads: number): number {
  if (threads > 0) return threads;
  return Math.max(1, os.availableParallelism() - 1);
}

/**
 * ONNX Runtime session options for every session of a pipeline. One inter-op thread: our
 * graphs run operators in sequence and extra pools only compete for the cores.
 */
export function sessionOptions(runtime: RuntimeConfig): { intraOpNumThreads: number; interOpNumThreads: number } {
  return { intraOpNumThreads: resolveOnnxThreads(runtime.onnx_threads), interOpNumThreads: 1 };
}

/**
 * transformers.js keeps these settings in one process-wide `env`. Remote loading stays off
 * unless the user allows downloads; then the hub cache is the models folder itself, so a
 * downloaded `org/name` lands in `<models_dir>/org/name/` where the next start finds it.
 * Every pipeline also gets `local_files_only` per call, so a stray global cannot open the
 * network.
 */
export function configureTransformersEnv(runtime: RuntimeConfig, modelsDir: string): void {
  env.allowLocalModels = true;
  env.allowRemoteModels = runtime.allow_downloads;
  env.localModelPath = modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`;
  env.cacheDir = modelsDir;
  env.useFSCache = runtime.allow_downloads;
}
