import os from 'node:os';
import type { Llama } from 'node-llama-cpp';
import type { Config } from '../../config/schema/index.js';

export type RuntimeConfig = Config['runtime'];

/** config.runtime.threads: 0 means cores - 1, at least 1 (llama.cpp's default is far slower here). */
export function resolveThreads(threads: number): number {
  if (threads > 0) return threads;
  return Math.max(1, os.availableParallelism() - 1);
}

let shared: { llama: Promise<Llama> } | undefined;
/** Last llama.cpp log lines: load errors only say "Failed to load model"; the reason is here. */
const recentLog: string[] = [];

/** llama.cpp's own log lines from the last load (for error messages). */
export function recentLlamaLog(): string[] {
  return [...recentLog];
}
export function clearLlamaLog(): void {
  recentLog.length = 0;
}

let lib: Promise<typeof import('node-llama-cpp')> | undefined;
/** node-llama-cpp itself, loaded on the first GGUF use (~0.4 s a bridge without one never pays). */
export function loadLlamaCpp(): Promise<typeof import('node-llama-cpp')> {
  lib ??= import('node-llama-cpp');
  return lib;
}

/**
 * The one Llama per process (node-llama-cpp's bindings are process-wide), created lazily with
 * `gpu: false` unless config.runtime.gpu names one (a software Vulkan driver is otherwise picked
 * and is slow).
 */
export function sharedLlama(runtime: Pick<RuntimeConfig, 'gpu'>): Promise<Llama> {
  if (shared) return shared.llama;
  const llama = loadLlamaCpp().then(({ getLlama, LlamaLogLevel }) =>
    getLlama({
      gpu: runtime.gpu,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        recentLog.push(`${level}: ${message.trim()}`);
        if (recentLog.length > 40) recentLog.shift();
      },
    }),
  );
  shared = { llama };
  llama.catch(() => {
    if (shared?.llama === llama) shared = undefined; // let a later call retry
  });
  return llama;
}

/** Disposes the shared Llama (process shutdown; every model must be disposed first). */
export async function disposeSharedLlama(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (!s) return;
  const llama = await s.llama.catch(() => undefined);
  await llama?.dispose();
}
