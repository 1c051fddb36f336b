import { Type } from '@sinclair/typebox';
import { Section } from './common.js';

export const MqttSection = Section({
  url: Type.Optional(Type.String({ minLength: 1, pattern: '^[a-z][a-z0-9+.-]*://', description: 'broker URL (mqtt://, mqtts://); absent: start the embedded broker' })),
  username: Type.String({ default: '', description: 'broker user name' }),
  password: Type.String({ default: '', description: 'broker password (never logged)' }),
  client_id: Type.String({ default: '', description: 'empty: sarai_<base_topic>_<hash of host and data_dir>, stable across restarts (a persistent session needs it)' }),
  session_expiry_s: Type.Integer({
    default: 86_400,
    minimum: 0,
    maximum: 4_294_967_295,
    description: 'external broker: keep the session (subscriptions, queued QoS 1 inputs) this long (s) while SARAi is away (the embedded broker and cluster mode: always a clean session); 0: a clean session each connect',
  }),
  spool_max_age_s: Type.Integer({
    default: 3600,
    minimum: 0,
    maximum: 7 * 86_400,
    description: 'camera snapshots and clips acknowledged to the broker but not finished are kept in <data_dir>/spool, so a crash or kill loses none: the next start runs those younger than this (s) and reports older ones on sarai/error; 0: no spool',
  }),
  ca_file: Type.String({ default: '', description: 'mqtts://: PEM file of the CA that signed the broker certificate (empty: the system CAs)' }),
  cert_file: Type.String({ default: '', description: 'mqtts://: PEM client certificate, for brokers that require one (with key_file)' }),
  key_file: Type.String({ default: '', description: 'mqtts://: PEM private key of cert_file (never logged)' }),
  reject_unauthorized: Type.Boolean({ default: true, description: 'mqtts://: refuse a broker certificate that does not verify (turn off only for testing)' }),
  base_topic: Type.String({ default: 'sarai', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', description: 'prefix of every SARAi topic' }),
  discovery_prefix: Type.String({ default: 'homeassistant', pattern: '^[A-Za-z0-9_-]+$', description: 'Home Assistant discovery prefix' }),
  discovery: Type.Boolean({ default: true, description: 'publish Home Assistant MQTT discovery' }),
  embedded: Section({
    host: Type.String({ default: '127.0.0.1', description: 'address the embedded broker listens on' }),
    port: Type.Integer({ default: 1883, minimum: 0, maximum: 65535, description: '0 picks a free port' }),
  }),
  max_payload_mb: Type.Number({ default: 16, exclusiveMinimum: 0, maximum: 256, description: 'larger MQTT messages are rejected with a message on <base>/error' }),
  keepalive_s: Type.Integer({ default: 30, minimum: 5, maximum: 3600, description: 'MQTT keepalive (s)' }),
  reconnect_max_ms: Type.Integer({ default: 30_000, minimum: 500, maximum: 600_000, description: 'longest wait between reconnects; backoff starts at 500 ms' }),
});
export const HttpSection = Section({
  host: Type.String({ default: '0.0.0.0', description: 'address the HTTP server (UI, API, metrics, TTS audio) listens on' }),
  port: Type.Integer({ default: 8099, minimum: 0, maximum: 65535, description: '0 picks a free port' }),
  token: Type.String({ default: '', description: 'bearer token for the UI/API when not behind ingress' }),
  public_url: Type.String({ default: '', description: 'base URL HA media players use to fetch TTS audio' }),
});
export const HomeAssistantSection = Section({
  url: Type.String({ default: '', description: 'Home Assistant base URL for the websocket and REST API (add-on: the Supervisor proxy)' }),
  token: Type.String({ default: '', description: 'long-lived access token (add-on: SUPERVISOR_TOKEN)' }),
});
export const FrigateSection = Section({
  enabled: Type.Boolean({ default: false, description: 'listen to Frigate events, reviews and snapshots' }),
  topic_prefix: Type.String({ default: 'frigate', pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', description: 'Frigate MQTT topic prefix' }),
  api_url: Type.String({
    default: '',
    description: "Frigate's API, e.g. http://ccab4aaf-frigate:5000 (its internal, unauthenticated port): each description is also written to its Frigate event, for Frigate's Explore view and search",
  }),
});
export const LogSection = Section({
  level: Type.Union(
    [Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')],
    { default: 'info', description: 'records on stdout; secrets are redacted' },
  ),
  format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('text')], {
    default: 'auto',
    description: 'json (one JSON object a line) or text (a readable line); auto: text on a terminal and in the Home Assistant add-on log, json otherwise',
  }),
});
export const WyomingSection = Section({
  enabled: Type.Boolean({ default: true, description: 'serve the Wyoming protocol (ASR and TTS) for Home Assistant Assist' }),
  host: Type.String({ default: '0.0.0.0', description: 'address the Wyoming servers listen on' }),
  asr_port: Type.Integer({ default: 10310, minimum: 0, maximum: 65535, description: 'Wyoming speech-to-text port' }),
  tts_port: Type.Integer({ default: 10210, minimum: 0, maximum: 65535, description: 'Wyoming text-to-speech port' }),
  conversation: Type.Boolean({ default: true, description: 'also serve a Wyoming conversation agent (handle): Assist questions answered by the text role' }),
  handle_port: Type.Integer({ default: 10510, minimum: 0, maximum: 65535, description: 'Wyoming conversation agent (handle) port' }),
  languages: Type.Array(Type.String({ pattern: '^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$' }), { default: ['en'], description: 'languages announced in the Wyoming info; the conversation agent answers only these (by primary subtag)' }),
  announce: Type.Boolean({ default: true, description: 'as an add-on: announce the Wyoming servers to Home Assistant (Supervisor discovery)' }),
  announce_host: Type.String({ default: '', description: 'host in the announced tcp:// URI; empty: this container hostname' }),
  max_connections: Type.Integer({ default: 32, minimum: 1, maximum: 1024, description: 'open connections per Wyoming server; when full, the one idle longest is closed for a newcomer' }),
  idle_timeout_s: Type.Number({ default: 30, minimum: 1, maximum: 3600, description: 'close a Wyoming connection that sends no event for this long (s), unless it waits for an answer' }),
  event_timeout_s: Type.Number({ default: 10, minimum: 0.5, maximum: 600, description: 'an event (header, data and payload) must arrive whole within this long of its first byte (s)' }),
});
