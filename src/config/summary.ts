import { redactUrl } from '../log/logger.js';
import type { Config } from './schema/index.js';

/** The one-screen summary `sarai check-config` prints for a good configuration. */
export function summarizeConfig(c: Config, source: string): string {
  const lines: string[] = [];
  const add = (k: string, v: string) => lines.push(`${k.padEnd(14)} ${v}`);
  lines.push(`Configuration OK: ${source}`, '');
  add('MQTT', c.mqtt.url ? redactUrl(c.mqtt.url) : `embedded broker on ${c.mqtt.embedded.host}:${c.mqtt.embedded.port}`);
  add('topics', `${c.mqtt.base_topic}/...  discovery: ${c.mqtt.discovery ? c.mqtt.discovery_prefix : 'off'}`);
  add('HTTP', `${c.http.host}:${c.http.port}${c.http.token ? ' (token required)' : ''}`);
  add('Home Assistant', c.homeassistant.url ? `${redactUrl(c.homeassistant.url)}${c.homeassistant.token ? '' : ' (no token: websocket off)'}` : 'not configured');
  add('Frigate', c.frigate.enabled ? `on (${c.frigate.topic_prefix}/...)` : 'off');
  const cams = Object.entries(c.cameras);
  add('cameras', cams.length ? cams.map(([id, cam]) => `${id}${cam.rtsp_url ? ' (rtsp)' : ''}`).join(', ') : 'none configured (any id on the snapshot topic works)');
  const sats = Object.keys(c.satellites);
  add('satellites', sats.length ? sats.join(', ') : 'none configured');
  add('Wyoming', c.wyoming.enabled ? `ASR :${c.wyoming.asr_port}, TTS :${c.wyoming.tts_port}${c.wyoming.conversation ? `, conversation :${c.wyoming.handle_port}` : ''}` : 'off');
  lines.push('', 'models:');
  lines.push(`  ${'role'.padEnd(10)} ${'backend'.padEnd(12)} ${'model'.padEnd(34)} ${'MB'.padStart(6)}  notes`);
  let pinned = 0;
  for (const [role, m] of Object.entries(c.models)) {
    const what = m.gguf_file || m.model || m.name;
    const notes = [m.enabled ? '' : 'disabled', m.auto_unload ? '' : 'pinned', m.url ? redactUrl(m.url) : ''].filter(Boolean).join(', ');
    if (m.enabled && !m.auto_unload) pinned += m.max_memory_mb;
    lines.push(`  ${role.padEnd(10)} ${m.backend.padEnd(12)} ${what.slice(0, 34).padEnd(34)} ${String(m.max_memory_mb || '-').padStart(6)}  ${notes}`);
  }
  lines.push('', `memory: budget ${c.memory.budget_mb} MB, hard limit ${c.memory.hard_limit_mb} MB, pinned ${pinned} MB`);
  return lines.join('\n');
}
