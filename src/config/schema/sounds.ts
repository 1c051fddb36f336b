import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

/** One sound the bridge can alert on: which model labels mean it, and how sure the model must be. */
export const SoundSettings = Type.Object(
  {
    match: Type.Array(Type.String({ minLength: 1, maxLength: 120 }), {
      minItems: 1,
      description: 'model label names (AudioSet display names such as "Glass" or "Smoke detector, smoke alarm"; case-insensitive, exact)',
    }),
    threshold: Type.Number({ default: 0.3, exclusiveMinimum: 0, maximum: 1, description: 'lowest score (0-1) of any matched label that counts as heard' }),
    severity: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')], {
      default: 'medium',
      description: 'severity of its alert (only high alerts in quiet hours)',
    }),
  },
  { additionalProperties: false },
);

/** Defaults: AudioSet names as the AST AudioSet classifier (MIT/ast-finetuned-audioset-*) spells them. */
const DEFAULT_SOUNDS = {
  glass: { match: ['Glass', 'Shatter'], threshold: 0.3, severity: 'high' },
  crying: { match: ['Baby cry, infant cry', 'Crying, sobbing'], threshold: 0.3, severity: 'medium' },
  bark: { match: ['Bark', 'Bow-wow', 'Growling'], threshold: 0.3, severity: 'low' },
  smoke_alarm: { match: ['Smoke detector, smoke alarm', 'Fire alarm'], threshold: 0.3, severity: 'high' },
  scream: { match: ['Screaming', 'Yell'], threshold: 0.3, severity: 'high' },
};

export const AudioEventsSection = Section(
  {
    sounds: Type.Record(Type.String({ pattern: ID_PATTERN, maxLength: 64 }), SoundSettings, {
      default: DEFAULT_SOUNDS,
      additionalProperties: false,
      description: 'sound id -> the model labels that mean it; a camera lists the ids it listens for in cameras.<id>.sounds',
    }),
    window_s: Type.Number({ default: 2, minimum: 0.5, maximum: 10, description: 'audio is classified in windows of this length (s); RTSP audio is read in windows of it' }),
    silence_dbfs: Type.Number({ default: -50, minimum: -120, maximum: 0, description: 'a window quieter than this (RMS, dBFS) is silence: not sent to the model, never an alert' }),
    clipping_fraction: Type.Number({ default: 0.01, exclusiveMinimum: 0, maximum: 1, description: 'a window with at least this fraction of samples at full scale is marked clipped (it is still classified)' }),
    rtsp_retry_s: Type.Number({ default: 10, minimum: 1, maximum: 3600, description: 'wait before reopening a camera\'s RTSP audio after it drops (s)' }),
  },
  'sound events: the audio_events role classifies the audio of clips and (cameras.<id>.sound_rtsp) live RTSP audio',
);
