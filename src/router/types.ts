import type { Audio, GenerateResult, SynthesizeResult, TranscribeResult } from '../backends/types.js';

/** What the router did: which role answered and why (recorded in every result). */
export interface Routed<T> {
  value: T;
  /** The role that answered, e.g. `omni`, `vision`, `tiny`, `expert`, `stt`. */
  route: string;
  /** Why: `image input -> omni`, `omni unhealthy -> vision`, `classifier: expert (0.81 vs 0.42)`. */
  reason: string;
  /** Model name of the backend that answered. */
  model: string;
  latencyMs: number;
}

export interface AnswerOptions {
  system?: string;
  /** Force a role (`sarai ask --role`), skipping classification. */
  role?: string;
  onToken?: (text: string) => void;
  /** At most this many tokens, below the role's own max_tokens (e.g. voice.max_answer_tokens). */
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface DescribeRequest {
  prompt: string;
  /** JPEG bytes; several for video frames. */
  images: Buffer[];
  /** Clip audio (16 kHz mono) for an omni backend; dropped (and said so in `reason`) otherwise. */
  audio?: Audio;
  jsonSchema?: Record<string, unknown>;
  signal?: AbortSignal;
}

/**
 * The one entry point the sources use to reach models. Implemented in src/router/router.ts.
 * Every method throws NoCapableBackendError (a BackendError) with a clear message when no
 * configured, healthy backend can take the input.
 */
export interface ModelRouter {
  answer(text: string, opts?: AnswerOptions): Promise<Routed<GenerateResult>>;
  describe(req: DescribeRequest): Promise<Routed<GenerateResult>>;
  transcribe(audio: Audio, signal?: AbortSignal): Promise<Routed<TranscribeResult>>;
  synthesize(text: string, signal?: AbortSignal): Promise<Routed<SynthesizeResult>>;
  embed(texts: string[], signal?: AbortSignal): Promise<Routed<Float32Array[]>>;
}
