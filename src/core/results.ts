/** What the bridge publishes; the JSON shapes are the external contract in DESIGN.md. */

export type Severity = 'none' | 'low' | 'medium' | 'high';
export type EventType = 'person' | 'vehicle' | 'animal' | 'package' | 'other';

/** sarai/camera/<camera>/result */
export interface CameraResult {
  id: string;
  camera: string;
  /** <= 255 characters: it becomes a sensor state. */
  summary: string;
  description: string;
  objects: string[];
  alert: boolean;
  severity: Severity;
  event_type: EventType;
  route: string;
  route_reason: string;
  model: string;
  latency_ms: number;
  ts: string;
  source: 'mqtt' | 'frigate' | 'homeassistant' | 'clip' | 'api';
  label?: string;
  zones?: string[];
  frigate_event_id?: string;
  error?: string;
  /** Cluster mode: the job's id from its input (hash + camera + producer time); redeliveries share it. */
  job_id?: string;
  /** Cluster mode: when the input arrived (or the producer's MQTT 5 `ts` user property), ISO 8601. */
  input_ts?: string;
  /** Cluster mode: the worker that published it, and its monotonic count of results. */
  worker?: string;
  seq?: number;
}

/** sarai/answer */
export interface AskAnswer {
  id: string;
  text: string;
  route: string;
  route_reason: string;
  model: string;
  latency_ms: number;
  tokens: number;
  error?: string;
}

/** sarai/voice/<satellite>/response */
export interface VoiceResponse {
  id: string;
  satellite: string;
  transcript: string;
  text: string;
  route: string;
  model: string;
  latency_ms: number;
  tts_url: string;
  error?: string;
}

/** sarai/error (not retained) */
export interface ErrorReport {
  source: string;
  topic: string;
  error: string;
  ts: string;
}
