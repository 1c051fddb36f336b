import os from 'node:os';
import type { Config } from '../../config/schema/index.js';
import type { HostEnv } from './host-protocol.js';

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
 * transformers.js keeps these settings in one `env` (in the pipeline worker). Remote loading
 * stays off unless the user allows downloads; then the hub cache is the models folder itself,
 * so a downloaded `org/name` lands in `<models_dir>/org/name/` where the next start finds it.
 * Every load also passes `local_files_only`, so a stray global cannot open the network.
 * `hubUrl` (or HF_ENDPOINT) points downloads at a mirror.
 */
export function transformersEnv(runtime: RuntimeConfig, modelsDir: string, hubUrl?: string): HostEnv {
  const remote = hubUrl ?? process.env['HF_ENDPOINT'];
  return {
    allowRemoteModels: runtime.allow_downloads,
    localModelPath: modelsDir.endsWith('/') ? modelsDir : `${modelsDir}/`,
    cacheDir: modelsDir,
    useFSCache: runtime.allow_downloads,
    ...(remote ? { remoteHost: remote.endsWith('/') ? remote : `${remote}/` } : {}),
  };
}
