import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

export const CameraSettings = Section({
  name: Type.String({ default: '', description: 'display name in Home Assistant' }),
  rtsp_url: Type.String({ default: '', description: 'RTSP URL for clips (credentials are never logged or published)' }),
  camera_entity: Type.String({ default: '', pattern: '^(camera\\.[a-z0-9_]+)?$', description: 'HA camera whose /api/camera_proxy image is described on motion' }),
  motion_entity: Type.String({ default: '', pattern: '^([a-z_]+\\.[a-z0-9_]+)?$', description: 'HA entity whose change to on triggers a description' }),
  cooldown_s: Type.Number({ default: 30, minimum: 0, description: 'minimum time between two descriptions of this camera (s)' }),
  prompt: Type.String({ default: '', description: 'extra instructions for this camera' }),
  clip_on_motion: Type.Boolean({ default: false, description: 'take an RTSP clip (frames + audio) on motion' }),
  clip_seconds: Type.Number({ default: 3, exclusiveMinimum: 0, maximum: 60, description: 'clip length (s)' }),
  alert_labels: Type.Array(Type.String(), { default: ['person'], description: 'objects that raise an alert (person, vehicle, animal, package...)' }),
  alert_zones: Type.Array(Type.String(), { default: [], description: 'Frigate zones that raise an alert' }),
  sounds: Type.Array(Type.String({ pattern: ID_PATTERN }), { default: [], description: 'sound ids (audio_events.sounds) that raise a sound event from this camera\'s clips; empty: none' }),
  sound_rtsp: Type.Boolean({ default: false, description: 'listen to rtsp_url\'s audio all the time, in windows of audio_events.window_s (needs sounds and the audio_events role)' }),
  memory: Type.Boolean({ default: true, description: 'give the model the previous description as context and publish what changed (off where it confuses the model)' }),
});
export const CamerasSection = Type.Record(Type.String({ pattern: ID_PATTERN }), CameraSettings, { default: {}, additionalProperties: false });

export const SatelliteSettings = Section({
  name: Type.String({ default: '', description: 'display name in Home Assistant' }),
  media_player: Type.String({ default: '', pattern: '^(media_player\\.[a-z0-9_]+)?$', description: 'media_player that speaks answers (needs homeassistant.url)' }),
});
export const SatellitesSection = Type.Record(Type.String({ pattern: ID_PATTERN }), SatelliteSettings, { default: {}, additionalProperties: false });
