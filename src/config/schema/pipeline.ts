import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

export const RouterSection = Section({
  text_default: Type.String({ default: 'tiny', pattern: ID_PATTERN, description: 'role that answers text' }),
  expert_role: Type.String({ default: 'expert', pattern: ID_PATTERN, description: 'role for hard questions' }),
  image_chain: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: ['omni', 'vision'], description: 'roles tried for images and frames, in order' }),
  audio_chain: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: ['omni', 'stt'], description: 'roles tried for audio, in order' }),
  expert_threshold: Type.Number({ default: 0.05, description: 'expert similarity must beat tiny by this margin' }),
  exemplars: Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Array(Type.String()), { default: {}, additionalProperties: false, description: 'example sentences per role for the semantic text classifier' }),
  expert_keywords: Type.Array(Type.String(), { default: [], description: 'words that send a question to the expert when there is no embedding role' }),
  history_exemplars: Type.Array(Type.String(), { default: [], description: 'example questions about past camera events (sarai/ask answers them from the timeline); empty: built-in examples' }),
  history_threshold: Type.Number({ default: 0.05, description: 'history similarity must beat the other exemplars by this margin' }),
  expert_min_words: Type.Integer({ default: 40, minimum: 1, description: 'questions this long go to the expert when there is no embedding role' }),
  circuit_failures: Type.Integer({ default: 3, minimum: 1, description: 'failures in a row that open a role\'s circuit' }),
  circuit_reset_s: Type.Number({ default: 30, exclusiveMinimum: 0, description: 'time before a half-open probe (s)' }),
  retry_start_s: Type.Number({ default: 60, exclusiveMinimum: 0, description: 'a backend that cannot start is retried this often (s)' }),
});
export const SchedulerSection = Section({
  max_queued_mb: Type.Number({ default: 64, exclusiveMinimum: 0, description: 'bound on bytes waiting in all queues' }),
  max_queue_per_source: Type.Integer({ default: 32, minimum: 1, description: 'bound on jobs waiting per source' }),
  dedup_distance: Type.Integer({ default: 4, minimum: 0, maximum: 64, description: 'perceptual hash bits; 0 disables' }),
  concurrency: Type.Integer({ default: 2, minimum: 1, maximum: 64, description: 'jobs running at once, all kinds' }),
});
export const CameraDefaultsSection = Section({
  alert_off_s: Type.Number({ default: 60, minimum: 1, description: 'the alert binary_sensor turns off after this (s)' }),
  cooldown_s: Type.Number({ default: 30, minimum: 0, description: 'cameras not listed under cameras:' }),
  max_image_mb: Type.Number({ default: 16, exclusiveMinimum: 0, description: 'largest snapshot accepted (MB)' }),
  ha_events: Type.Boolean({ default: true, description: 'fire sarai_result / sarai_alert on the HA websocket' }),
  memory: Type.Boolean({ default: true, description: 'camera memory for cameras not listed under cameras:' }),
  quiet_hours: Type.String({ default: '', pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])?$', description: 'HH:MM-HH:MM: only high-severity alerts' }),
  prompt: Type.String({
    default:
      'Describe what is happening in this home camera image in one short sentence for a phone notification, then in more detail. List the objects you see. Say whether it needs attention.',
    description: 'default instructions for scene descriptions (a camera\'s own prompt replaces it)',
  }),
});
export const VoiceSection = Section({
  enabled: Type.Boolean({ default: true, description: 'satellite audio over MQTT (sarai/voice/<satellite>/...)' }),
  max_utterance_s: Type.Number({ default: 30, exclusiveMinimum: 0, maximum: 600, description: 'longest accepted utterance (s)' }),
  stream_timeout_s: Type.Number({ default: 5, exclusiveMinimum: 0, description: 'a stream with no stop ends after this silence (s)' }),
  vad: Type.Boolean({ default: false, description: 'trim silence with the Silero VAD model before speech-to-text' }),
  tts_url_ttl_s: Type.Number({ default: 300, exclusiveMinimum: 0, description: 'TTS audio URLs expire after this (s)' }),
  speak_by_sentence: Type.Boolean({ default: true, description: 'speak an answer sentence by sentence while the model writes (one .../tts WAV per sentence); false: one WAV once the answer is complete' }),
  max_answer_tokens: Type.Integer({ default: 200, minimum: 1, maximum: 4096, description: 'a spoken answer is generated with at most this many tokens (below the role\'s max_tokens)' }),
  max_answer_chars: Type.Integer({ default: 600, minimum: 20, maximum: 2000, description: 'a spoken answer is cut at the last sentence end within this many characters; the response says so' }),
});
export const DigestSection = Section({
  enabled: Type.Boolean({ default: true, description: 'publish period digests of the timeline on sarai/digest (on sarai/digest/request, and daily at digest.time)' }),
  time: Type.String({ default: '20:00', pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9])?$', description: 'local time (HH:MM) of the daily digest; empty: on request only' }),
  period: Type.Union([Type.Literal('today'), Type.Literal('yesterday'), Type.Literal('last_24h'), Type.Literal('last_7d')], { default: 'today', description: 'period of the daily digest and of a request that names none' }),
});
export const TimelineSection = Section({
  retention_days: Type.Number({ default: 14, exclusiveMinimum: 0, description: 'results older than this are deleted' }),
  max_mb: Type.Number({ default: 1024, exclusiveMinimum: 0, description: 'oldest results are deleted beyond this size' }),
  time_zone: Type.String({ default: '', maxLength: 64, description: 'IANA zone for "today", "yesterday", "since 8" in questions; empty: the process\'s zone (TZ, set by Home Assistant)' }),
  ask_top_k: Type.Integer({ default: 8, minimum: 1, maximum: 50, description: 'events a history question cites at most (the model\'s context stays bounded)' }),
});
