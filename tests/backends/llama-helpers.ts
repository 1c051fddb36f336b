import { configFromObject } from '../../src/config/load.js';
import type { Config, ModelConfig } from '../../src/config/schema/index.js';
import { createLogger } from '../../src/log/logger.js';

export const silentLog = createLogger('silent');

/** A validated Config with the given models (threads 1: two shared cores; no child-process load probe unless asked). */
export function testConfig(models: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): Config {
  return configFromObject({ models, runtime: { threads: 1, probe_load: false }, ...extra }, 'test');
}

export function spec(config: Config, role: string): ModelConfig {
  const s = config.models[role];
  if (!s) throw new Error(`no role ${role}`);
  return s;
}
