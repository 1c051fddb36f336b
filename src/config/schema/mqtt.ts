import { Type } from '@sinclair/typebox';
import { Section, Url } from './common.js';

export const MqttSection = Section({
  url: Type.Optional(Url),
  username: Type.String({ default: '' }),
  password: Type.String({ default: '' }),
  client_id: Type.String({ default: '', description: 'empty: sarai_<base_topic>_<random>' }),
  base_topic: Type.String({ default: 'sarai', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$' }),
  discovery_prefix: Type.String({ default: 'homeassistant', pattern: '^[A-Za-z0-9_-]+$' }),
  discovery: Type.Boolean({ default: true }),
  embedded: Section({
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ default: 1883, minimum: 0, maximum: 65535, description: '0 picks a free port' }),
  }),
  max_payload_mb: Type.Number({ default: 16, exclusiveMinimum: 0, maximum: 256 }),
  keepalive_s: Type.Integer({ default: 30, minimum: 5, maximum: 3600 }),
  reconnect_max_ms: Type.Integer({ default: 30_000, minimum: 500, maximum: 600_000 }),
});
export const HttpSection = Section({
  host: Type.String({ default: '0.0.0.0' }),
  port: Type.Integer({ default: 8099, minimum: 0, maximum: 65535, description: '0 picks a free port' }),
  token: Type.String({ default: '', description: 'bearer token for the UI/API when not behind ingress' }),
  public_url: Type.String({ default: '', description: 'base URL HA media players use to fetch TTS audio' }),
});
export const HomeAssistantSection = Section({
  url: Type.String({ default: '' }),
  token: Type.String({ default: '' }),
});
export const FrigateSection = Section({
  enabled: Type.Boolean({ default: false }),
  topic_prefix: Type.String({ default: 'frigate', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$' }),
});
export const LogSection = Section({
  level: Type.Union(
    [Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')],
    { default: 'info' },
  ),
});
export const WyomingSection = Section({
  enabled: Type.Boolean({ default: true }),
  host: Type.String({ default: '0.0.0.0' }),
  asr_port: Type.Integer({ default: 10310, minimum: 0, maximum: 65535 }),
  tts_port: Type.Integer({ default: 10210, minimum: 0, maximum: 65535 }),
  languages: Type.Array(Type.String({ pattern: '^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$' }), { default: ['en'], description: 'languages announced in the Wyoming info' }),
  announce: Type.Boolean({ default: true, description: 'as an add-on: announce the Wyoming servers to Home Assistant (Supervisor discovery)' }),
  announce_host: Type.String({ default: '', description: 'host in the announced tcp:// URI; empty: this container hostname' }),
});
