/**
 * Thin typed adapters over transformers.js pipelines: its own types are a wide union over
 * every task, so each task is called through the few members we use.
 */
import { InterruptableStoppingCriteria, pipeline, TextStreamer, type RawImage } from '@huggingface/transformers';
import type { TransformersTask } from './tasks.js';

interface TokenizerLike {
  decode(ids: number[] | bigint[], options?: { skip_special_tokens?: boolean }): string;
}

/** The members of a loaded pipeline this backend touches. */
export interface TaskPipeline {
  (input: unknown, options?: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<void>;
  tokenizer?: TokenizerLike;
  model: { config: { model_type?: string; sampling_rate?: number } };
  processor?: { feature_extractor?: { config?: { sampling_rate?: number } } };
}

export interface LoadOptions {
  /** transformers.js dtype (fp32, q8, ...); undefined lets it choose (downloads). */
  dtype?: string;
  sessionOptions: Record<string, unknown>;
  localFilesOnly: boolean;
  /** Download/load progress, per file (transformers.js progress events). */
  onProgress?: (info: LoadProgress) => void;
}

export interface LoadProgress {
  status: string;
  file?: string;
  /** 0-100 for `progress` events. */
  progress?: number;
  loaded?: number;
  total?: number;
}

export async function loadPipeline(task: TransformersTask, modelRef: string, opts: LoadOptions): Promise<TaskPipeline> {
  const p = await pipeline(task, modelRef, {
    device: 'cpu',
    ...(opts.dtype ? { dtype: opts.dtype as 'fp32' } : {}),
    session_options: opts.sessionOptions,
    local_files_only: opts.localFilesOnly,
    ...(opts.onProgress ? { progress_callback: opts.onProgress as (info: unknown) => void } : {}),
  });
  return p as unknown as TaskPipeline;
}

export interface CaptionOptions {
  maxNewTokens: number;
  onToken?: (text: string) => void;
  signal: AbortSignal;
}

/** Greedy caption of one image; stops at the next token when `signal` aborts. */
export async function runCaption(p: TaskPipeline, image: RawImage, opts: CaptionOptions): Promise<{ text: string; tokens: number }> {
  const stopper = new InterruptableStoppingCriteria();
  const onAbort = (): void => stopper.interrupt();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  let tokens = 0;
  try {
    const streamer = p.tokenizer
      ? new TextStreamer(p.tokenizer as never, {
          skip_prompt: true,
          skip_special_tokens: true,
          callback_function: (text: string) => {
            if (text) opts.onToken?.(text);
          },
          token_callback_function: () => {
            tokens++;
          },
        })
      : undefined;
    const out = (await p(image, {
      max_new_tokens: opts.maxNewTokens,
      do_sample: false,
      stopping_criteria: [stopper],
      ...(streamer ? { streamer } : {}),
    })) as { generated_text: string }[];
    opts.signal.throwIfAborted();
    // The streamer also sees the decoder start token: not a generated token.
    return { text: (out[0]?.generated_text ?? '').trim(), tokens: Math.max(0, tokens - 1) };
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
}

/** Whisper-style models take 30 s windows; longer audio is chunked with overlap. */
const WHISPER_WINDOW_S = 30;

export async function runTranscribe(p: TaskPipeline, samples: Float32Array, rate: number): Promise<string> {
  const type = p.model.config.model_type ?? '';
  const long = samples.length / rate > WHISPER_WINDOW_S;
  const options = type.includes('whisper') && long ? { chunk_length_s: WHISPER_WINDOW_S, stride_length_s: 5 } : {};
  const out = (await p(samples, options)) as { text: string } | { text: string }[];
  const first = Array.isArray(out) ? out[0] : out;
  return (first?.text ?? '').trim();
}

export async function runSynthesize(p: TaskPipeline, text: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const out = (await p(text)) as { audio: Float32Array; sampling_rate: number };
  return { samples: out.audio, sampleRate: out.sampling_rate };
}

/** Mean-pooled, L2-normalized sentence embeddings, one row per text. */
export async function runEmbed(p: TaskPipeline, texts: string[]): Promise<Float32Array[]> {
  const out = (await p(texts, { pooling: 'mean', normalize: true })) as { dims: number[]; data: Float32Array };
  const [rows, dims] = out.dims;
  if (rows !== texts.length || !dims) throw new Error(`expected ${texts.length} embeddings, got shape [${out.dims.join(', ')}]`);
  const vectors: Float32Array[] = [];
  for (let r = 0; r < rows; r++) vectors.push(out.data.slice(r * dims, (r + 1) * dims));
  return vectors;
}

/** The sampling rate (Hz) the model's feature extractor expects, or its output rate for TTS. */
export function modelSampleRate(p: TaskPipeline): number | undefined {
  return p.processor?.feature_extractor?.config?.sampling_rate ?? p.model.config.sampling_rate;
}

interface ClassifierParts {
  processor: (samples: Float32Array) => Promise<Record<string, unknown>>;
  model: ((inputs: Record<string, unknown>) => Promise<{ logits: { data: Float32Array; dims: number[] } }>) & {
    config: { id2label?: Record<string, string>; problem_type?: string };
  };
}

/**
 * Every label's score for one window. The pipeline's own call applies softmax over all labels,
 * which is wrong for multi-label AudioSet classifiers (a dog barking during speech is both), so
 * the pipeline's processor and model are called here: sigmoid per label, unless config.json
 * says `problem_type: single_label_classification` (then softmax, as the pipeline does).
 */
export async function runClassifyAudio(p: TaskPipeline, samples: Float32Array): Promise<{ label: string; score: number }[]> {
  const parts = p as unknown as ClassifierParts;
  const activation = parts.model.config.problem_type === 'single_label_classification' ? 'softmax' : 'sigmoid';
  const out = await parts.model(await parts.processor(samples));
  const logits = Array.from(out.logits.data.subarray(0, out.logits.dims.at(-1) ?? out.logits.data.length));
  const id2label = parts.model.config.id2label ?? {};
  let scores: number[];
  if (activation === 'sigmoid') scores = logits.map((x) => 1 / (1 + Math.exp(-x)));
  else {
    const max = Math.max(...logits);
    const exps = logits.map((x) => Math.exp(x - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    scores = exps.map((e) => e / sum);
  }
  return scores.map((score, i) => ({ label: id2label[String(i)] ?? `LABEL_${i}`, score }));
}
