/**
 * Messages between TransformersBackend (main thread) and the pipeline host worker. Model
 * pre/post-processing in transformers.js is synchronous JavaScript (Whisper's log-mel
 * spectrogram alone blocks ~0.5 s per utterance here), so pipelines run in a worker thread and
 * the bridge's event loop (MQTT, HTTP, Wyoming) stays responsive.
 */
import type { LoadProgress } from './pipelines.js';
import type { TransformersTask } from './tasks.js';

/** transformers.js `env` settings, applied in the worker before each load. */
export interface HostEnv {
  allowRemoteModels: boolean;
  localModelPath: string;
  cacheDir: string;
  useFSCache: boolean;
  /** Hub base URL (a mirror); undefined keeps transformers.js's default. */
  remoteHost?: string;
}

export interface RgbImage {
  /** RGB bytes, row-major, 3 per pixel. */
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** What a pipeline is loaded from (the `load` request without its ids). */
export interface PipelineSpec {
  task: TransformersTask;
  modelRef: string;
  dtype?: string;
  sessionOptions: Record<string, unknown>;
  localFilesOnly: boolean;
  env: HostEnv;
}

export type HostRequest =
  | ({ op: 'load'; id: number; pipe: number; progress: boolean } & PipelineSpec)
  | { op: 'caption'; id: number; pipe: number; image: RgbImage; maxNewTokens: number; stream: boolean }
  | { op: 'transcribe'; id: number; pipe: number; samples: Float32Array; rate: number }
  | { op: 'synthesize'; id: number; pipe: number; text: string }
  | { op: 'embed'; id: number; pipe: number; texts: string[] }
  | { op: 'classify_audio'; id: number; pipe: number; samples: Float32Array }
  | { op: 'abort'; id: number; target: number }
  | { op: 'memory'; id: number }
  | { op: 'dispose'; id: number; pipe: number };

/** The worker's own V8 heap and external memory (the main thread's process.memoryUsage() does not see them). */
export interface WorkerMemory {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface LoadInfo {
  /** Feature extractor rate (speech input) or output rate (TTS), Hz. */
  sampleRate?: number;
  modelType?: string;
}

export type HostReply =
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; name: string; message: string }
  | { id: number; kind: 'token'; text: string }
  | { id: number; kind: 'progress'; info: LoadProgress };
