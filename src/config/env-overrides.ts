import yaml from 'js-yaml';

/**
 * `SARAI__MQTT__EMBEDDED__PORT=1884` sets mqtt.embedded.port: a double underscore separates
 * levels because keys themselves contain single underscores. Values are YAML scalars.
 */
export const ENV_PREFIX = 'SARAI__';

export function applyEnvOverrides(doc: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const keys = name.slice(ENV_PREFIX.length).toLowerCase().split('__').filter(Boolean);
    if (keys.length === 0) continue;
    let node: Record<string, unknown> = doc;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    let parsed: unknown = value;
    try {
      parsed = yaml.load(value);
    } catch {
      // not a YAML scalar: keep the raw string
    }
    node[keys[keys.length - 1] as string] = parsed ?? '';
    applied.push(keys.join('.'));
  }
  return applied;
}
