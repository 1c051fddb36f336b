/** Builds TransformersBackends on the tiny ONNX fixtures for tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { configFromObject } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema/index.js';
import { createLogger } from '../../src/log/logger.js';
import { TransformersBackend } from '../../src/backends/transformers/index.js';

export const silentLog = createLogger('silent');

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `sarai-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A Config with one transformers role, validated like a real file. */
export function configWithRole(role: string, model: Record<string, unknown>, runtime: Record<string, unknown> = {}): Config {
  return configFromObject({ models: { [role]: { backend: 'transformers', ...model } }, runtime: { onnx_threads: 1, ...runtime } }, 'test');
}

export function backendFor(role: string, model: Record<string, unknown>, modelsDir: string, runtime: Record<string, unknown> = {}): TransformersBackend {
  const config = configWithRole(role, model, runtime);
  const spec = config.models[role];
  if (!spec) throw new Error('role missing from config');
  return new TransformersBackend({ role, spec, modelsDir, runtime: config.runtime, log: silentLog });
}

/** A solid-colour image of the given format. */
export function solidImage(rgb: [number, number, number], format: 'jpeg' | 'png' | 'webp' = 'jpeg', size = { width: 64, height: 48 }): Promise<Buffer> {
  return sharp({ create: { ...size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .toFormat(format)
    .toBuffer();
}

/** A sine tone, mono float samples in [-amp, amp]. */
export function tone(seconds: number, rate: number, hz = 220, amp = 0.3): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * rate) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
}
