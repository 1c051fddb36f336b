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
    return w.enabled && w.asr_port !== 0 && w.asr_port === w.tts_port ? ['wyoming.tts_port: must differ from wyoming.asr_port'] : [];
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
