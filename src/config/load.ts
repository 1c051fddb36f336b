import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { ConfigError } from './errors.js';
import { checkSemantics } from './semantics.js';
import { fromAddonOptions } from './addon-options.js';
import { validateConfig } from './validate.js';
import { applyEnvOverrides } from './env-overrides.js';
import type { Config } from './schema/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** config/sarai.yaml shipped with the package (works from src/ under tsx and from dist/). */
export const DEFAULT_CONFIG_PATH = path.resolve(here, '../../config/sarai.yaml');
export const ADDON_OPTIONS_PATH = '/data/options.json';

export interface LoadedConfig {
  config: Config;
  /** Where it came from, for messages. */
  source: string;
  /** Directory relative paths (data_dir, models_dir) are resolved against. */
  baseDir: string;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(err);
    throw new ConfigError(file, [`(file): cannot read: ${why}`]);
  }
}

export function parseYaml(text: string, source: string): unknown {
  try {
    const doc = yaml.load(text, { filename: source });
    return doc ?? {};
  } catch (err) {
    const e = err as { mark?: { line: number; column: number }; reason?: string; message: string };
    const where = e.mark ? `line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '(yaml)';
    throw new ConfigError(source, [`${where}: invalid YAML: ${e.reason ?? e.message}`]);
  }
}

/** Validates a parsed document; throws ConfigError with every problem at once. */
export function configFromObject(raw: unknown, source: string, env: NodeJS.ProcessEnv = {}): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['(top level): must be a mapping of sections (mqtt:, models:, ...)']);
  }
  applyEnvOverrides(raw as Record<string, unknown>, env);
  const { config, problems } = validateConfig(raw);
  if (problems.length === 0) problems.push(...checkSemantics(config));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return config;
}

/**
 * Picks the file: explicit path, then SARAI_CONFIG, then the add-on's /data/options.json
 * (merged over the default file), then config/sarai.yaml.
 */
export function loadConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = explicit ?? env['SARAI_CONFIG'];
  if (file) {
    const abs = path.resolve(file);
    return { config: configFromObject(parseYaml(readText(abs), abs), abs, env), source: abs, baseDir: path.dirname(abs) };
  }
  if (env['SUPERVISOR_TOKEN'] && existsSync(ADDON_OPTIONS_PATH)) {
    const base = parseYaml(readText(DEFAULT_CONFIG_PATH), DEFAULT_CONFIG_PATH);
    let options: unknown;
    try {
      options = JSON.parse(readText(ADDON_OPTIONS_PATH));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(ADDON_OPTIONS_PATH, [`(file): invalid JSON: ${(err as Error).message}`]);
    }
    const merged = fromAddonOptions(base as Record<string, unknown>, options);
    return { config: configFromObject(merged, ADDON_OPTIONS_PATH, env), source: ADDON_OPTIONS_PATH, baseDir: '/data' };
  }
  const text = readText(DEFAULT_CONFIG_PATH);
  return {
    config: configFromObject(parseYaml(text, DEFAULT_CONFIG_PATH), DEFAULT_CONFIG_PATH, env),
    source: DEFAULT_CONFIG_PATH,
    // the default file lives in the package; its relative folders mean the working directory
    baseDir: process.cwd(),
  };
}

/** Resolves a configured folder against the config's base directory. */
export function resolveDir(loaded: LoadedConfig, dir: string): string {
  return path.isAbsolute(dir) ? dir : path.resolve(loaded.baseDir, dir);
}
