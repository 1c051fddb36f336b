import { Type } from '@sinclair/typebox';
import { ID_PATTERN, Section } from './common.js';

export const CameraSettings = Section({
  name: Type.String({ default: '' }),
  rtsp_url: Type.String({ default: '' }),
  camera_entity: Type.String({ default: '', pattern: '^(camera\\.[a-z0-9_]+)?$' }),
  motion_entity: Type.String({ default: '', pattern: '^([a-z_]+\\.[a-z0-9_]+)?$' }),
  cooldown_s: Type.Number({ default: 30, minimum: 0 }),
  prompt: Type.String({ default: '' }),
  clip_on_motion: Type.Boolean({ default: false }),
  clip_seconds: Type.Number({ default: 3, exclusiveMinimum: 0, maximum: 60 }),
  alert_labels: Type.Array(Type.String(), { default: ['person'] }),
  alert_zones: Type.Array(Type.String(), { default: [] }),
});
export const CamerasSection = Type.Record(Type.String({ pattern: ID_PATTERN }), CameraSettings, { default: {}, additionalProperties: false });

export const SatelliteSettings = Section({
  name: Type.String({ default: '' }),
  media_player: Type.String({ default: '', pattern: '^(media_player\\.[a-z0-9_]+)?$' }),
});
export const SatellitesSection = Type.Record(Type.String({ pattern: ID_PATTERN }), SatelliteSettings, { default: {}, additionalProperties: false });
