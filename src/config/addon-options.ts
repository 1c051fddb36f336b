/**
 * Home Assistant add-on options (/data/options.json) onto the config schema. The add-on UI
 * cannot edit maps keyed by user ids, so cameras and satellites arrive as lists with an `id`;
 * everything else has the same shape as the YAML file. Options override the default file.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function listToRecord(list: unknown, key: string): unknown {
  if (!Array.isArray(list)) return list;
  const out: Obj = {};
  for (const item of list) {
    if (!isObj(item)) continue;
    const { id, ...rest } = item;
    // a camera's sounds: the add-on form has no list inside a list item, so "glass, scream"
    if (typeof rest['sounds'] === 'string') rest['sounds'] = rest['sounds'].split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    out[typeof id === 'string' ? id : `invalid_${key}_id_${String(id)}`] = rest;
  }
  return out;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? base : over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** Flat add-on option names (config.yaml `schema:`) -> configuration paths. */
export const ADDON_OPTION_PATHS: Record<string, string[]> = {
  log_level: ['log', 'level'],
  log_format: ['log', 'format'],
  mqtt_url: ['mqtt', 'url'],
  mqtt_username: ['mqtt', 'username'],
  mqtt_password: ['mqtt', 'password'],
  mqtt_ca_file: ['mqtt', 'ca_file'],
  mqtt_cert_file: ['mqtt', 'cert_file'],
  mqtt_key_file: ['mqtt', 'key_file'],
  mqtt_session_expiry_s: ['mqtt', 'session_expiry_s'],
  frigate_enabled: ['frigate', 'enabled'],
  frigate_api_url: ['frigate', 'api_url'],
  allow_downloads: ['runtime', 'allow_downloads'],
  memory_budget_mb: ['memory', 'budget_mb'],
  http_token: ['http', 'token'],
  quiet_hours: ['camera_defaults', 'quiet_hours'],
  threads: ['runtime', 'threads'],
  omni_enabled: ['models', 'omni', 'enabled'],
  omni_url: ['models', 'omni', 'url'],
  expert_enabled: ['models', 'expert', 'enabled'],
  expert_url: ['models', 'expert', 'url'],
  expert_model: ['models', 'expert', 'model'],
  models_dir: ['models_dir'],
  timeline_retention_days: ['timeline', 'retention_days'],
  timeline_max_mb: ['timeline', 'max_mb'],
  sound_events_enabled: ['models', 'audio_events', 'enabled'],
  wyoming_enabled: ['wyoming', 'enabled'],
  wyoming_conversation: ['wyoming', 'conversation'],
  digest_time: ['digest', 'time'],
  digest_period: ['digest', 'period'],
  tts_public_url: ['http', 'public_url'],
  cluster_group: ['cluster', 'group'],
  cluster_worker_id: ['cluster', 'worker_id'],
  cluster_voice_streams: ['cluster', 'voice_streams'],
};

function unflatten(options: Obj): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(options)) {
    const target = ADDON_OPTION_PATHS[key];
    if (!target) {
      out[key] = value;
      continue;
    }
    if (value === null || value === undefined || value === '') continue; // optional, unset
    let node = out;
    for (const k of target.slice(0, -1)) node = (node[k] = isObj(node[k]) ? node[k] : {}) as Obj;
    node[target[target.length - 1] as string] = value;
  }
  return out;
}

export function fromAddonOptions(defaults: Obj, options: unknown): Obj {
  if (!isObj(options)) return defaults;
  const mapped: Obj = unflatten(options);
  if ('cameras' in mapped) mapped['cameras'] = listToRecord(mapped['cameras'], 'camera');
  if ('satellites' in mapped) mapped['satellites'] = listToRecord(mapped['satellites'], 'satellite');
  // the add-on stores its data in /data (persistent) and shares media through /share
  const merged = deepMerge({ ...defaults, data_dir: '/data', models_dir: '/data/models' }, mapped) as Obj;
  return merged;
}
