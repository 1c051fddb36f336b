/**
 * The built-in backend kinds, registered on import. Other modules add theirs with
 * registerBackendKind (the voice feature: wyoming, espeak); the model manager may re-register
 * `llama`/`transformers` with its load gate.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import { LlamaBackend } from './llama/backend.js';
import { MultimodalBackend } from './multimodal/index.js';
import { OllamaBackend } from './ollama/backend.js';
import { OpenAIBackend } from './openai/backend.js';
import { BackendPool } from './pool.js';
import { registerBackendKind, type BackendFactoryContext } from './registry.js';
import type { Backend } from './types.js';
import { checkModelFolder, locateModel, resolveTask, TransformersBackend } from './transformers/index.js';

/** models.<role>.gguf_file: a file inside the models folder, or an absolute path. */
export function ggufPath(ctx: Pick<BackendFactoryContext, 'spec' | 'modelsDir'>): string {
  const f = ctx.spec.gguf_file;
  return path.isAbsolute(f) ? f : path.join(ctx.modelsDir, f);
}

function llamaPreflight(ctx: BackendFactoryContext): string | undefined {
  const { role, spec } = ctx;
  if (!spec.gguf_file) return `${role}: set models.${role}.gguf_file to a GGUF file (inside ${ctx.modelsDir}, or an absolute path)`;
  if (ctx.config.runtime.allow_downloads) return undefined; // the model manager pulls what is missing at start
  const file = ggufPath(ctx);
  if (existsSync(file)) return undefined;
  const from = spec.gguf_repo_id ? ` from https://huggingface.co/${spec.gguf_repo_id}` : '';
  return `${role}: model file ${file} is missing; run \`sarai models pull ${role}\` or download ${path.basename(file)}${from} into ${path.dirname(file)}`;
}

function transformersPreflight(ctx: BackendFactoryContext): string | undefined {
  const { role, spec } = ctx;
  if (ctx.config.runtime.allow_downloads) return undefined; // the backend fetches what is missing
  const task = resolveTask(role, spec.task);
  if (!task) return undefined; // the backend's own start error names the problem
  try {
    checkModelFolder(role, task, locateModel(role, spec, ctx.modelsDir));
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** models.<role>.mmproj_file, resolved like gguf_file. */
export function mmprojPath(ctx: Pick<BackendFactoryContext, 'spec' | 'modelsDir'>): string {
  const f = ctx.spec.mmproj_file;
  return path.isAbsolute(f) ? f : path.join(ctx.modelsDir, f);
}

// With mmproj_file the role runs on libmtmd in a model host process (src/backends/multimodal/).
registerBackendKind(
  'llama',
  (ctx) =>
    ctx.spec.mmproj_file
      ? new MultimodalBackend({ role: ctx.role, spec: ctx.spec, modelPath: ggufPath(ctx), mmprojPath: mmprojPath(ctx), runtime: ctx.config.runtime, log: ctx.log })
      : new LlamaBackend({ role: ctx.role, spec: ctx.spec, modelPath: ggufPath(ctx), runtime: ctx.config.runtime, log: ctx.log }),
  llamaPreflight,
);
registerBackendKind(
  'transformers',
  (ctx) => new TransformersBackend({ role: ctx.role, spec: ctx.spec, modelsDir: ctx.modelsDir, runtime: ctx.config.runtime, log: ctx.log }),
  transformersPreflight,
);
/** models.<role>.urls set: one backend per server behind a BackendPool; else the one server of url. */
function remoteOrPool(ctx: BackendFactoryContext, one: (spec: BackendFactoryContext['spec']) => Backend): Backend {
  const { spec, config } = ctx;
  if (spec.urls.length === 0) return one(spec);
  return new BackendPool({
    role: ctx.role,
    members: spec.urls.map((url) => ({ url, backend: one({ ...spec, url, urls: [] }) })),
    circuitFailures: config.router.circuit_failures,
    circuitResetMs: config.router.circuit_reset_s * 1000,
    log: ctx.log,
    now: ctx.now,
    random: ctx.random,
    ...(ctx.poolPlace ? { place: ctx.poolPlace } : {}),
  });
}

registerBackendKind('openai', (ctx) => remoteOrPool(ctx, (spec) => new OpenAIBackend({ role: ctx.role, spec, log: ctx.log })));
registerBackendKind('ollama', (ctx) => remoteOrPool(ctx, (spec) => new OllamaBackend({ role: ctx.role, spec, log: ctx.log })));
