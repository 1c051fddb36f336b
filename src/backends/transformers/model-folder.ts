import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError } from '../../core/errors.js';
import type { TransformersTask } from './tasks.js';

/**
 * ONNX file-name suffixes transformers.js uses per dtype, in the order we prefer them when a
 * folder has several variants (full precision first: the tiny models here, and the most
 * accurate for real ones).
 */
const DTYPE_SUFFIXES: [suffix: string, dtype: string][] = [
  ['', 'fp32'],
  ['_quantized', 'q8'],
  ['_int8', 'int8'],
  ['_uint8', 'uint8'],
  ['_fp16', 'fp16'],
  ['_q4', 'q4'],
  ['_q4f16', 'q4f16'],
  ['_bnb4', 'bnb4'],
];

/** Encoder-decoder speech models (two ONNX sessions) rather than a single CTC graph. */
const SEQ2SEQ_ASR = ['whisper', 'moonshine', 'lite-whisper'];

export interface ModelLocation {
  /** What the user calls the model (repo id or folder name), for messages. */
  id: string;
  /** Absolute folder the files are read from. */
  dir: string;
}

/**
 * Where a role's model lives: `model` (else `repo_id`, else `name`) as a folder inside
 * modelsDir, or an absolute path as given.
 */
export function locateModel(role: string, spec: ModelConfig, modelsDir: string): ModelLocation {
  const id = (spec.model || spec.repo_id || spec.name).trim();
  if (!id) throw new BackendError(`${role}: set models.${role}.model to a model folder (inside ${modelsDir}, or an absolute path)`);
  if (path.isAbsolute(id)) return { id, dir: path.normalize(id) };
  const dir = path.resolve(modelsDir, id);
  const rel = path.relative(path.resolve(modelsDir), dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new BackendError(`${role}: models.${role}.model ${id} points outside the models folder ${modelsDir}; use an absolute path instead`);
  }
  return { id, dir };
}

/** The files a task needs, without dtype suffixes (for messages and checks). */
export function requiredFiles(task: TransformersTask, modelType: string | undefined, id: string): { json: string[]; onnx: string[] } {
  const base = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
  switch (task) {
    case 'feature-extraction':
    case 'text-to-speech':
      return { json: base, onnx: ['model'] };
    case 'audio-classification':
      // no tokenizer: the feature extractor reads the waveform, config.json names the labels
      return { json: ['config.json', 'preprocessor_config.json'], onnx: ['model'] };
    case 'image-to-text':
      return { json: [...base, 'preprocessor_config.json'], onnx: ['encoder_model', 'decoder_model_merged'] };
    case 'automatic-speech-recognition': {
      const type = modelType ?? (SEQ2SEQ_ASR.find((t) => id.toLowerCase().includes(t)) ? 'whisper' : undefined);
      return SEQ2SEQ_ASR.includes(type ?? '')
        ? { json: [...base, 'preprocessor_config.json', 'generation_config.json'], onnx: ['encoder_model', 'decoder_model_merged'] }
        : { json: [...base, 'preprocessor_config.json'], onnx: ['model'] };
    }
  }
}

export interface CheckedFolder {
  /** transformers.js dtype whose files are all present. */
  dtype: string;
  modelType: string | undefined;
  /** Total size of the ONNX files, bytes (an estimate of the memory the sessions take). */
  onnxBytes: number;
}

/**
 * Checks that a model folder has every file the task needs. Throws a BackendError saying
 * which files to put where when it does not: on a machine with no route to the hub this is
 * the message the user acts on.
 */
export function checkModelFolder(role: string, task: TransformersTask, loc: ModelLocation): CheckedFolder {
  const configPath = path.join(loc.dir, 'config.json');
  let modelType: string | undefined;
  if (existsSync(configPath)) {
    try {
      const doc = JSON.parse(readFileSync(configPath, 'utf8')) as { model_type?: unknown };
      modelType = typeof doc.model_type === 'string' ? doc.model_type : undefined;
    } catch (err) {
      throw new BackendError(`${role}: ${configPath} is not valid JSON (${(err as Error).message}); replace it with the model's config.json`);
    }
  }
  const need = requiredFiles(task, modelType, loc.id);
  const missing = need.json.filter((f) => !existsSync(path.join(loc.dir, f)));
  const variant = DTYPE_SUFFIXES.find(([suffix]) => need.onnx.every((f) => existsSync(path.join(loc.dir, 'onnx', `${f}${suffix}.onnx`))));
  if (!variant) missing.push(...need.onnx.map((f) => `onnx/${f}.onnx`));
  if (missing.length > 0) {
    const all = [...need.json, ...need.onnx.map((f) => `onnx/${f}.onnx`)];
    const what = existsSync(loc.dir) ? `model folder ${loc.dir} is incomplete (missing ${missing.join(', ')})` : `model folder ${loc.dir} does not exist`;
    throw new BackendError(
      `${role}: ${what}. Put ${loc.id} in ${loc.dir} (${all.join(', ')}; ONNX files may also be a quantized variant such as onnx/${need.onnx[0] ?? 'model'}_quantized.onnx), or set runtime.allow_downloads: true to fetch it from the Hugging Face hub`,
    );
  }
  const [suffix, dtype] = variant ?? ['', 'fp32'];
  const onnxBytes = need.onnx.reduce((n, f) => n + statSync(path.join(loc.dir, 'onnx', `${f}${suffix}.onnx`)).size, 0);
  return { dtype, modelType, onnxBytes };
}
