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
  /** Set when the spoken answer was cut at a sentence end: which limit cut it. */
  truncated_by?: 'max_answer_tokens' | 'max_answer_chars';
  error?: string;
}

/** sarai/error (not retained) */
export interface ErrorReport {
  source: string;
  topic: string;
  error: string;
  ts: string;
}
