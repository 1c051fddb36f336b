/** What the bridge publishes; the JSON shapes are the external contract in DESIGN.md. */

export type Severity = 'none' | 'low' | 'medium' | 'high';
/** `sound`: only on sound alerts (audio_events), never on a camera result. */
export type EventType = 'person' | 'vehicle' | 'animal' | 'package' | 'other' | 'sound';

/** A sound event: the configured sound id, the model label that matched, and how the audio was. */
export interface SoundHeard {
  /** The audio_events model (its configured name). */
  model: string;
  /** The model's label name (e.g. "Glass"). */
  model_label: string;
  score: number;
  /** Part of the audio was at full scale: the score may be less reliable. */
  clipped: boolean;
  /** Loudest window's RMS level, dBFS. */
  level_dbfs: number;
}

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
  /** `rtsp`: a sound heard on a camera's live RTSP audio (cameras.<id>.sound_rtsp; timeline rows of sound events). */
  source: 'mqtt' | 'frigate' | 'homeassistant' | 'clip' | 'api' | 'rtsp';
  label?: string;
  zones?: string[];
  frigate_event_id?: string;
  /** Camera memory: this result against the camera's previous accepted one (cameras with memory on). */
  changed?: CameraChange;
  /** The two-phase alert this result describes (snapshot results; see CameraAlert). */
  event_id?: string;
  error?: string;
  /** Cluster mode: the job's id from its input (hash + camera + producer time); redeliveries share it. */
  job_id?: string;
  /** Cluster mode: when the input arrived (or the producer's MQTT 5 `ts` user property), ISO 8601. */
  input_ts?: string;
  /** Cluster mode: the worker that published it, and its monotonic count of results. */
  worker?: string;
  seq?: number;
}

/**
 * `sarai/alert` and the HA event `sarai_alert`, in two phases with one `event_id`: `detected`
 * as soon as a snapshot is accepted (before any model), then `described` when the model
 * answered, or with a fallback text (`fallback: true`) when it failed, timed out or was skipped.
 */
export interface CameraAlert {
  event_id: string;
  phase: 'detected' | 'described';
  camera: string;
  source: CameraResult['source'];
  /** The alert rules' verdict: from the source's own label at `detected`, from the result at `described`. */
  alert: boolean;
  severity: Severity;
  event_type: EventType;
  /** detected: ''; described: the model's summary or the fallback text. */
  summary: string;
  label?: string;
  zones?: string[];
  frigate_event_id?: string;
  /** described: the camera result's id (also in sarai/camera/<camera>/result). */
  result_id?: string;
  /** described: the text is ours, not the model's (failure, timeout, unreadable image, same scene). */
  fallback?: boolean;
  /** event_type `sound`: what the audio_events model heard (label = the sound id). */
  sound?: SoundHeard;
  /** ms from intake to this phase's publish request. */
  latency_ms: number;
  ts: string;
}

/** What changed since the camera's previous accepted result. */
export interface CameraChange {
  /** The previous result's id and time. */
  since_id: string;
  since_ts: string;
  /** Objects listed now and not then, and then and not now (case-insensitive). */
  new: string[];
  left: string[];
  /** The model's own words, when it gave them. */
  text?: string;
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
  /** A history question: the events the answer cites (newest or most relevant first). */
  sources?: AskSourceEvent[];
  /** A history question: how it was read and searched. */
  history?: HistoryInfo;
}

/** One timeline event an answer cites. */
export interface AskSourceEvent {
  id: string;
  camera: string;
  ts: string;
  summary: string;
  /** Relative to the web UI (works behind ingress); null without a snapshot. */
  snapshot_url: string | null;
}

/** How a history question was answered: filters read from it, counts from the database. */
export interface HistoryInfo {
  range: { since: string; until: string; label: string } | null;
  camera: string | null;
  /** Events in the range (and camera): exact, from SQLite. */
  events_in_range: number;
  /** "how many X": events in range mentioning X, exact, from SQLite (never from the model). */
  count?: { term: string; n: number };
  retrieval: 'hybrid' | 'vector' | 'keyword' | 'newest' | 'count' | 'none';
  retrieval_reason: string;
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
