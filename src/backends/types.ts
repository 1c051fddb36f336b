/**
 * The contract every model backend implements (Frigate's genai provider pattern): a backend
 * declares what it can take and produce, starts lazily, and answers requests. The registry
 * (src/backends/registry.ts) maps config roles to backend instances; the router picks one.
 */

export type Capability = 'text' | 'image' | 'video' | 'audio_in' | 'audio_out' | 'embedding' | 'json_schema' | 'audio_events';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Mono PCM at a known rate, samples in [-1, 1]. */
export interface Audio {
  sampleRate: number;
  samples: Float32Array;
}

export interface GenerateRequest {
  /** The conversation; the last message is the user's turn. */
  messages: ChatMessage[];
  /** JPEG bytes, several for video frames. */
  images?: Buffer[];
  /** Audio for the omni path (16 kHz mono). */
  audio?: Audio;
  /** JSON schema the answer must follow (structured output). */
  jsonSchema?: Record<string, unknown>;
  maxTokens?: number;
  temperature?: number;
  /** Called with each piece of text as it streams. */
  onToken?: (text: string) => void;
  signal?: AbortSignal;
}

export interface GenerateResult {
  text: string;
  /** Parsed JSON when jsonSchema was given. */
  json?: unknown;
  model: string;
  tokens: number;
  latencyMs: number;
}

/** One model label's score for a window of audio (sigmoid or softmax, 0-1). */
export interface SoundScore {
  label: string;
  score: number;
}

export interface TranscribeResult {
  text: string;
  language?: string;
  model: string;
  latencyMs: number;
}

export interface SynthesizeResult {
  audio: Audio;
  model: string;
  latencyMs: number;
}

export type HealthState = 'idle' | 'starting' | 'ready' | 'failed';

export interface BackendHealth {
  state: HealthState;
  /** Last start or request error, for the problem sensor and /metrics. */
  lastError?: string;
  /** ms since epoch of the next start attempt when failed. */
  retryAt?: number;
}

export interface Backend {
  readonly kind: string;
  /** The config role this instance serves. */
  readonly role: string;
  /** Human model name for results. */
  readonly model: string;
  readonly capabilities: ReadonlySet<Capability>;
  /** Idempotent lazy start: loads a model or checks a server. */
  start(signal?: AbortSignal): Promise<void>;
  health(): BackendHealth;
  generate?(req: GenerateRequest): Promise<GenerateResult>;
  embed?(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
  transcribe?(audio: Audio, signal?: AbortSignal): Promise<TranscribeResult>;
  synthesize?(text: string, signal?: AbortSignal): Promise<SynthesizeResult>;
  /** Sound-event scores (0-1) per model label for one window of audio (audio-classification models). */
  classifyAudio?(audio: Audio, signal?: AbortSignal): Promise<SoundScore[]>;
  /** Frees models, closes connections. Using it afterwards throws DisposedError. */
  dispose(): Promise<void>;
}
