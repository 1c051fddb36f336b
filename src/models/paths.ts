import path from 'node:path';
import type { Config, ModelConfig } from '../config/schema/index.js';

/**
 * Where a role's GGUF lives: `gguf_file` as an absolute path, or a name inside `models_dir`
 * (itself relative to the config file's folder). Undefined when the role names no file.
 */
export function resolveModelPath(config: Config, baseDir: string, spec: ModelConfig): string | undefined {
  if (!spec.gguf_file) return undefined;
  if (path.isAbsolute(spec.gguf_file)) return spec.gguf_file;
  return path.resolve(baseDir, config.models_dir, spec.gguf_file);
}

/** The models folder, absolute. */
export function modelsDir(config: Config, baseDir: string): string {
  return path.resolve(baseDir, config.models_dir);
}

/**
 * Where a role's mmproj lives: `mmproj_file` as an absolute path, or a name beside the
 * role's GGUF (inside `models_dir` for the usual relative gguf_file). Undefined when unset.
 */
export function resolveMmprojPath(config: Config, baseDir: string, spec: ModelConfig): string | undefined {
  if (!spec.mmproj_file) return undefined;
  if (path.isAbsolute(spec.mmproj_file)) return spec.mmproj_file;
  const gguf = resolveModelPath(config, baseDir, spec);
  return path.resolve(gguf ? path.dirname(gguf) : modelsDir(config, baseDir), spec.mmproj_file);
}
