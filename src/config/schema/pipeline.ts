import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

export const RouterSection = Section({
  text_default: Type.String({ default: 'tiny', pattern: ID_PATTERN }),
  expert_role: Type.String({ default: 'expert', pattern: ID_PATTERN }),
  image_chain: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: ['omni', 'vision'] }),
  audio_chain: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: ['omni', 'stt'] }),
  expert_threshold: Type.Number({ default: 0.05, description: 'expert similarity must beat tiny by this margin' }),
  exemplars: Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Array(Type.String()), { default: {}, additionalProperties: false }),
  expert_keywords: Type.Array(Type.String(), { default: [] }),
  expert_min_words: Type.Integer({ default: 40, minimum: 1 }),
  circuit_failures: Type.Integer({ default: 3, minimum: 1 }),
  circuit_reset_s: Type.Number({ default: 30, exclusiveMinimum: 0 }),
  retry_start_s: Type.Number({ default: 60, exclusiveMinimum: 0 }),
});
export const SchedulerSection = Section({
  max_queued_mb: Type.Number({ default: 64, exclusiveMinimum: 0 }),
  max_queue_per_source: Type.Integer({ default: 32, minimum: 1 }),
  dedup_distance: Type.Integer({ default: 4, minimum: 0, maximum: 64, description: 'perceptual hash bits; 0 disables' }),
  concurrency: Type.Integer({ default: 2, minimum: 1, maximum: 64, description: 'jobs running at once, all kinds' }),
});
export const CameraDefaultsSection = Section({
  alert_off_s: Type.Number({ default: 60, minimum: 1 }),
  cooldown_s: Type.Number({ default: 30, minimum: 0, description: 'cameras not listed under cameras:' }),
  max_image_mb: Type.Number({ default: 16, exclusiveMinimum: 0, description: 'largest snapshot accepted (MB)' }),
  ha_events: Type.Boolean({ default: true, description: 'fire sarai_result / sarai_alert on the HA websocket' }),
  quiet_hours: Type.String({ default: '', pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])?$' }),
  prompt: Type.String({
    default:
      'Describe what is happening in this home camera image in one short sentence for a phone notification, then in more detail. List the objects you see. Say whether it needs attention.',
  }),
});
export const VoiceSection = Section({
  enabled: Type.Boolean({ default: true, description: 'satellite audio over MQTT (sarai/voice/<satellite>/...)' }),
  max_utterance_s: Type.Number({ default: 30, exclusiveMinimum: 0, maximum: 600 }),
  stream_timeout_s: Type.Number({ default: 5, exclusiveMinimum: 0 }),
  vad: Type.Boolean({ default: false }),
  tts_url_ttl_s: Type.Number({ default: 300, exclusiveMinimum: 0 }),
});
export const TimelineSection = Section({
  retention_days: Type.Number({ default: 14, exclusiveMinimum: 0 }),
  max_mb: Type.Number({ default: 1024, exclusiveMinimum: 0 }),
});
