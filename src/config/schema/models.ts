import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

export const BACKEND_KINDS = ['llama', 'transformers', 'openai', 'ollama', 'wyoming', 'espeak'] as const;
export const ROLES = ['omni', 'vision', 'tiny', 'expert', 'embedding', 'stt', 'tts'] as const;

/** One role's model. Field names from the seed (repo_id, gguf_file, max_memory_mb...) are kept. */
export const ModelSpec = Section({
  name: Type.String({ default: '', description: 'model name shown in results and Home Assistant' }),
  backend: Type.Union(BACKEND_KINDS.map((k) => Type.Literal(k)), { description: 'which runtime serves the role' }),
  enabled: Type.Boolean({ default: true, description: 'false: the role is configured but not used' }),
  url: Type.String({ default: '', description: 'openai: .../v1; ollama: server URL; wyoming: tcp://host:port' }),
  urls: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    maxItems: 32,
    description: 'openai/ollama: a pool of servers with the same model; each call goes to the least busy healthy one (a circuit breaker per server). Set: url is ignored',
  }),
  model: Type.String({ default: '', description: 'server-side model name, or a transformers.js model folder' }),
  api_key: Type.String({ default: '', description: 'bearer token for an openai server (never logged)' }),
  repo_id: Type.String({ default: '', description: 'Hugging Face repository of the original model' }),
  gguf_repo_id: Type.String({ default: '', description: 'Hugging Face repository of the GGUF file (sarai models pull)' }),
  gguf_file: Type.String({ default: '', description: 'file name inside the models folder, or an absolute path' }),
  sha256: Type.String({ default: '', pattern: '^([a-f0-9]{64})?$', description: 'expected sha256 of the model file (checked by pull and verify)' }),
  mmproj_file: Type.String({
    default: '',
    description: 'llama: the multimodal projector (mmproj GGUF) beside gguf_file; set, the role runs in process on libmtmd and takes images and/or audio',
  }),
  mmproj_repo_id: Type.String({ default: '', description: 'Hugging Face repository of the mmproj file; empty: gguf_repo_id' }),
  mmproj_sha256: Type.String({ default: '', pattern: '^([a-f0-9]{64})?$', description: 'expected sha256 of the mmproj file (checked by pull and verify)' }),
  mmproj_download_url: Type.String({ default: '', description: 'direct download URL of the mmproj file' }),
  download_url: Type.String({ default: '', description: 'direct download URL of the model file' }),
  task: Type.String({ default: '', description: 'transformers.js pipeline task; empty: derived from the role' }),
  voice: Type.String({ default: '', description: 'TTS voice (espeak-ng voice, Wyoming voice name)' }),
  max_memory_mb: Type.Number({ default: 0, minimum: 0, description: 'memory the model needs; used for the budget when larger than the estimate' }),
  context_length: Type.Integer({ default: 2048, minimum: 64, description: 'context size (tokens)' }),
  max_tokens: Type.Integer({ default: 256, minimum: 1, description: 'longest answer (tokens)' }),
  temperature: Type.Number({ default: 0.2, minimum: 0, maximum: 2, description: 'sampling temperature' }),
  auto_unload: Type.Boolean({ default: true, description: 'false: pinned, never evicted to make room' }),
  idle_unload_s: Type.Number({ default: 0, minimum: 0, description: '0: never unload for idleness' }),
  warm_up: Type.Boolean({ default: false, description: 'load at start instead of on first use' }),
  timeout_s: Type.Number({ default: 60, exclusiveMinimum: 0, description: 'deadline of one call (s); then the fallback answers' }),
  concurrency: Type.Integer({ default: 1, minimum: 1, maximum: 64, description: 'calls run at once on this role' }),
  queue_limit: Type.Integer({ default: 16, minimum: 0, description: 'calls waiting beyond that; more are refused (busy)' }),
  keep_alive: Type.String({ default: '', description: 'ollama keep_alive, e.g. 5m' }),
  num_ctx: Type.Integer({ default: 0, minimum: 0, description: 'ollama num_ctx; 0: server default' }),
  image_size: Type.Integer({ default: 768, minimum: 32, maximum: 4096, description: 'longest image side sent (px)' }),
  fallbacks: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: [], description: 'roles tried next when this one cannot answer' }),
  capabilities: Type.Array(
    Type.Union(['text', 'image', 'video', 'audio_in', 'audio_out', 'embedding', 'json_schema'].map((c) => Type.Literal(c))),
    { default: [], description: 'openai/ollama: what the served model takes; empty: derived from the role' },
  ),
});
export const ModelsSection = Type.Record(Type.String({ pattern: ID_PATTERN }), ModelSpec, { default: {}, additionalProperties: false });

export const MemorySection = Section({
  budget_mb: Type.Number({ default: 12_000, exclusiveMinimum: 0, description: 'RAM budget for loaded models (P99 target)' }),
  hard_limit_mb: Type.Number({ default: 16_000, exclusiveMinimum: 0, description: 'loads beyond this are refused' }),
});
export const RuntimeSection = Section({
  gpu: Type.Union([Type.Literal(false), Type.Literal('auto'), Type.Literal('cuda'), Type.Literal('vulkan'), Type.Literal('metal')], { default: false, description: 'false (CPU), auto, cuda, vulkan or metal' }),
  threads: Type.Integer({ default: 0, minimum: 0, description: '0: cores - 1, at least 1' }),
  onnx_threads: Type.Integer({ default: 0, minimum: 0, description: '0: cores - 1, at least 1' }),
  allow_downloads: Type.Boolean({ default: false, description: 'pull missing model weights on start' }),
  probe_load: Type.Boolean({
    default: true,
    description: 'load each new GGUF file once in a child process first: a file that makes llama.cpp abort cannot take the bridge down',
  }),
});
