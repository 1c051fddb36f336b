import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

export const BACKEND_KINDS = ['llama', 'transformers', 'openai', 'ollama', 'wyoming', 'espeak'] as const;
export const ROLES = ['omni', 'vision', 'tiny', 'expert', 'embedding', 'stt', 'tts'] as const;

/** One role's model. Field names from the seed (repo_id, gguf_file, max_memory_mb...) are kept. */
export const ModelSpec = Section({
  name: Type.String({ default: '' }),
  backend: Type.Union(BACKEND_KINDS.map((k) => Type.Literal(k))),
  enabled: Type.Boolean({ default: true }),
  url: Type.String({ default: '', description: 'openai: .../v1; ollama: server URL; wyoming: tcp://host:port' }),
  model: Type.String({ default: '', description: 'server-side model name, or a transformers.js model folder' }),
  api_key: Type.String({ default: '' }),
  repo_id: Type.String({ default: '' }),
  gguf_repo_id: Type.String({ default: '' }),
  gguf_file: Type.String({ default: '', description: 'file name inside the models folder, or an absolute path' }),
  sha256: Type.String({ default: '', pattern: '^([a-f0-9]{64})?$' }),
  download_url: Type.String({ default: '' }),
  task: Type.String({ default: '', description: 'transformers.js pipeline task; empty: derived from the role' }),
  voice: Type.String({ default: '', description: 'TTS voice (espeak-ng voice, Wyoming voice name)' }),
  max_memory_mb: Type.Number({ default: 0, minimum: 0 }),
  context_length: Type.Integer({ default: 2048, minimum: 64 }),
  max_tokens: Type.Integer({ default: 256, minimum: 1 }),
  temperature: Type.Number({ default: 0.2, minimum: 0, maximum: 2 }),
  auto_unload: Type.Boolean({ default: true }),
  idle_unload_s: Type.Number({ default: 0, minimum: 0, description: '0: never unload for idleness' }),
  warm_up: Type.Boolean({ default: false }),
  timeout_s: Type.Number({ default: 60, exclusiveMinimum: 0 }),
  concurrency: Type.Integer({ default: 1, minimum: 1, maximum: 64 }),
  queue_limit: Type.Integer({ default: 16, minimum: 0 }),
  keep_alive: Type.String({ default: '', description: 'ollama keep_alive, e.g. 5m' }),
  num_ctx: Type.Integer({ default: 0, minimum: 0, description: 'ollama num_ctx; 0: server default' }),
  image_size: Type.Integer({ default: 768, minimum: 32, maximum: 4096, description: 'longest image side sent (px)' }),
  fallbacks: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: [] }),
  capabilities: Type.Array(
    Type.Union(['text', 'image', 'video', 'audio_in', 'audio_out', 'embedding', 'json_schema'].map((c) => Type.Literal(c))),
    { default: [], description: 'openai/ollama: what the served model takes; empty: derived from the role' },
  ),
});
export const ModelsSection = Type.Record(Type.String({ pattern: ID_PATTERN }), ModelSpec, { default: {}, additionalProperties: false });

export const MemorySection = Section({
  budget_mb: Type.Number({ default: 12_000, exclusiveMinimum: 0 }),
  hard_limit_mb: Type.Number({ default: 16_000, exclusiveMinimum: 0 }),
});
export const RuntimeSection = Section({
  gpu: Type.Union([Type.Literal(false), Type.Literal('auto'), Type.Literal('cuda'), Type.Literal('vulkan'), Type.Literal('metal')], { default: false }),
  threads: Type.Integer({ default: 0, minimum: 0, description: '0: cores - 1, at least 1' }),
  onnx_threads: Type.Integer({ default: 0, minimum: 0, description: '0: cores - 1, at least 1' }),
  allow_downloads: Type.Boolean({ default: false }),
  probe_load: Type.Boolean({
    default: true,
    description: 'load each new GGUF file once in a child process first: a file that makes llama.cpp abort cannot take the bridge down',
  }),
});
