/** Builds openai/ollama backends from a small config, validated like a real file. */
import sharp from 'sharp';
import { OllamaBackend } from '../../src/backends/ollama/backend.js';
import { OpenAIBackend } from '../../src/backends/openai/backend.js';
import { configFromObject } from '../../src/config/load.js';
import type { ModelConfig } from '../../src/config/schema/index.js';
import { createLogger } from '../../src/log/logger.js';

export const quietLog = createLogger('silent');

export function specFor(role: string, model: Record<string, unknown>): ModelConfig {
  const config = configFromObject({ models: { [role]: model } }, 'test');
  const spec = config.models[role];
  if (!spec) throw new Error('role missing');
  return spec;
}

export function openaiBackend(role: string, url: string, extra: Record<string, unknown> = {}): OpenAIBackend {
  return new OpenAIBackend({ role, spec: specFor(role, { backend: 'openai', url, model: 'Qwen2.5-Omni-7B', ...extra }), log: quietLog });
}

export function ollamaBackend(role: string, url: string, extra: Record<string, unknown> = {}): OllamaBackend {
  return new OllamaBackend({ role, spec: specFor(role, { backend: 'ollama', url, model: 'solar', ...extra }), log: quietLog });
}

export function image(format: 'jpeg' | 'png' | 'webp', width = 32, height = 24): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .toFormat(format)
    .toBuffer();
}

/** The bytes inside a `data:<mime>;base64,...` URI. */
export function dataUri(uri: string): { mime: string; bytes: Buffer } {
  const m = /^data:([^;]+);base64,(.*)$/s.exec(uri);
  if (!m) throw new Error(`not a data URI: ${uri.slice(0, 40)}`);
  return { mime: m[1] ?? '', bytes: Buffer.from(m[2] ?? '', 'base64') };
}
