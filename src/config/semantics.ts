import type { Config } from './schema/index.js';

/**
 * Checks that a schema cannot express: cross-field rules. Each returns `path: message` lines.
 * Other modules add their own rules with `addSemanticCheck` (e.g. the model manager's budget).
 */
type Check = (config: Config) => string[];
const checks: Check[] = [
  (c) => (c.memory.budget_mb > c.memory.hard_limit_mb ? ['memory.budget_mb: must not exceed memory.hard_limit_mb'] : []),
  (c) => {
    const out: string[] = [];
    for (const [role, m] of Object.entries(c.models)) {
      const pooled = m.backend === 'openai' || m.backend === 'ollama';
      if (m.urls.length > 0 && !pooled) out.push(`models.${role}.urls: a server pool is for backend openai or ollama, not ${m.backend}`);
      if ((pooled || m.backend === 'wyoming') && !m.url && m.urls.length === 0) {
        out.push(`models.${role}.url: is required for backend ${m.backend}`);
      }
      if (m.backend === 'openai' && m.url && m.urls.length === 0 && !/\/v1\/?$/.test(m.url)) out.push(`models.${role}.url: an OpenAI-compatible URL ends in /v1`);
      if (pooled) out.push(...poolUrlProblems(role, m.backend, m.urls));
      if (m.backend === 'wyoming' && m.url && !m.url.startsWith('tcp://')) out.push(`models.${role}.url: a Wyoming URL looks like tcp://host:port`);
      for (const f of m.fallbacks) if (!(f in c.models)) out.push(`models.${role}.fallbacks: unknown role ${f}`);
    }
    return out;
  },
  (c) => {
    const u = c.frigate.api_url;
    if (!u) return [];
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return ['frigate.api_url: is not a URL; it looks like http://frigate:5000'];
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return ['frigate.api_url: must be http:// or https://'];
    if (url.search || url.hash || url.username) return ['frigate.api_url: give only the base URL (no query, fragment or credentials)'];
    return [];
  },
  (c) =>
    c.cluster.group && !c.mqtt.url
      ? ['cluster.group: needs an external MQTT 5 broker (set mqtt.url, e.g. mosquitto 2): the embedded broker speaks MQTT 3.1.1, which has no shared subscriptions']
      : [],
  (c) => {
    const w = c.wyoming;
    if (!w.enabled) return [];
    const out = w.asr_port !== 0 && w.asr_port === w.tts_port ? ['wyoming.tts_port: must differ from wyoming.asr_port'] : [];
    if (w.conversation && w.handle_port !== 0 && (w.handle_port === w.asr_port || w.handle_port === w.tts_port)) out.push('wyoming.handle_port: must differ from wyoming.asr_port and wyoming.tts_port');
    return out;
  },
  (c) => {
    // sound events: a camera's sounds must be defined, and something must classify them
    const out: string[] = [];
    const role = c.models['audio_events'];
    for (const [id, cam] of Object.entries(c.cameras)) {
      for (const s of cam.sounds) {
        if (!(s in c.audio_events.sounds)) out.push(`cameras.${id}.sounds: unknown sound ${s}; define it under audio_events.sounds (${Object.keys(c.audio_events.sounds).join(', ') || 'none defined'})`);
      }
      if (cam.sounds.length > 0 && !role?.enabled) out.push(`cameras.${id}.sounds: needs an enabled models.audio_events role (an audio-classification model)`);
      if (cam.sound_rtsp && !cam.rtsp_url) out.push(`cameras.${id}.sound_rtsp: needs cameras.${id}.rtsp_url`);
    }
    return out;
  },
  (c) => {
    const tz = c.timeline.time_zone;
    if (!tz) return [];
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return [];
    } catch {
      return [`timeline.time_zone: unknown time zone ${JSON.stringify(tz)}; use an IANA name like Europe/Madrid, or leave it empty`];
    }
  },
];

/** models.<role>.urls: http(s) URLs without query or fragment, each once; openai ones end in /v1. */
function poolUrlProblems(role: string, kind: string, urls: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [i, u] of urls.entries()) {
    const at = `models.${role}.urls[${i}]`;
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      out.push(`${at}: is not a URL (${JSON.stringify(u.slice(0, 80))})`);
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') out.push(`${at}: must be http:// or https://`);
    else if (url.search || url.hash) out.push(`${at}: give only the base URL (no query or fragment)`);
    else if (kind === 'openai' && !/\/v1\/?$/.test(url.pathname)) out.push(`${at}: an OpenAI-compatible URL ends in /v1`);
    const key = u.replace(/\/+$/, '');
    if (seen.has(key)) out.push(`${at}: listed twice`);
    seen.add(key);
  }
  return out;
}

export function addSemanticCheck(check: Check): void {
  checks.push(check);
}

export function checkSemantics(config: Config): string[] {
  return checks.flatMap((c) => c(config));
}
