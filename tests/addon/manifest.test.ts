/**
 * The add-on manifest against the rules of Home Assistant's add-on linter
 * (frenck/action-addon-linter, which validates config.yaml with the Supervisor's JSON schema and
 * flags keys set to their defaults, deprecated keys and ingress mistakes), plus our own
 * consistency rules: options match the schema, every option is translated and lands on a real
 * configuration key.
 */
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ADDON_OPTION_PATHS, fromAddonOptions } from '../../src/config/addon-options.js';
import { configFromObject } from '../../src/config/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
type Obj = Record<string, unknown>;
const load = (f: string): Obj => yaml.load(readFileSync(path.join(ROOT, f), 'utf8')) as Obj;
const manifest = load('config.yaml');
const schema = manifest['schema'] as Obj;
const options = manifest['options'] as Obj;

/** The Supervisor's defaults: the linter rejects a key set to one of these. */
const DEFAULTS: Obj = {
  startup: 'application', boot: 'auto', ingress: false, ingress_port: 8099, ingress_entry: '/', ingress_stream: false,
  init: true, host_network: false, host_pid: false, host_ipc: false, host_uts: false, host_dbus: false, hassio_api: false,
  hassio_role: 'default', homeassistant_api: false, docker_api: false, full_access: false, privileged: [], devices: [],
  audio: false, video: false, gpio: false, usb: false, uart: false, udev: false, devicetree: false, kernel_modules: false,
  stdin: false, legacy: false, apparmor: true, auth_api: false, advanced: false, stage: 'stable', panel_icon: 'mdi:puzzle',
  panel_admin: true, timeout: 10, tmpfs: false, realtime: false, journald: false, backup: 'hot', map: [], environment: {},
  breaking_versions: [], discovery: [], services: [],
};
/** Keys the Supervisor no longer accepts or the linter reports as deprecated. */
const DEPRECATED = ['auto_uart', 'snapshot_exclude', 'snapshot_pre', 'snapshot_post', 'devices', 'codenotary'];
const KNOWN_KEYS = new Set([
  ...Object.keys(DEFAULTS), 'name', 'version', 'slug', 'description', 'url', 'arch', 'machine', 'ports', 'ports_description',
  'webui', 'panel_title', 'image', 'options', 'schema', 'backup_exclude', 'backup_pre', 'backup_post', 'watchdog', 'ulimits', 'homeassistant',
]);
const SUPPORTED_ARCH = ['aarch64', 'amd64'];
/**
 * Map types across the add-on -> app rename (Supervisor 2026.07, supervisor#6992, MappingType
 * in supervisor/apps/const.py): the legacy `addon_config`, `all_addon_configs`, `addons` are
 * still accepted but warned about ("uses legacy map type"); their replacements `app_config`,
 * `all_app_configs`, `local_apps` are unknown to older Supervisors (and to the add-on linter's
 * schema). `config` is the pre-2023.11 name. Only these types mean the same on both sides.
 */
const MAP_TYPES_BOTH_SIDES = ['homeassistant_config', 'ssl', 'backup', 'share', 'media', 'data'];
const MAP_TYPES_ONE_SIDE = ['config', 'addon_config', 'all_addon_configs', 'addons', 'app_config', 'all_app_configs', 'local_apps'];
/** Keys build.yaml may hold (codenotary and squash are gone from the builder). */
const BUILD_KEYS = ['build_from', 'args', 'labels'];
/** Schema types the Supervisor understands, with their optional marker stripped. */
const TYPE_RE = /^(str|bool|email|url|port|password|device|float(\(.*\))?|int(\(-?\d*,-?\d*\))?|match\(.+\)|list\(.+\)|str\(\d*,\d*\))\??$/;

function validates(type: string, value: unknown): boolean {
  const t = type.replace(/\?$/, '');
  if (t === 'bool') return typeof value === 'boolean';
  if (t === 'str' || t === 'password') return typeof value === 'string';
  const int = /^int(?:\((-?\d*),(-?\d*)\))?$/.exec(t);
  if (int) return Number.isInteger(value) && (int[1] === undefined || int[1] === '' || (value as number) >= Number(int[1])) && (int[2] === undefined || int[2] === '' || (value as number) <= Number(int[2]));
  const list = /^list\((.+)\)$/.exec(t);
  if (list) return typeof value === 'string' && (list[1] ?? '').split('|').includes(value);
  const match = /^match\((.+)\)$/.exec(t);
  if (match) return typeof value === 'string' && new RegExp(match[1] ?? '').test(value);
  if (t === 'url') return typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/\S+$/.test(value);
  return false;
}

/** A value for an optional flat option that its schema type accepts (for the round trip). */
function sample(key: string, type: string): unknown {
  const t = type.replace(/\?$/, '');
  if (t === 'bool') return true;
  if (t === 'str' || t === 'password') return key === 'expert_model' ? 'solar:10.7b' : 'secret-value';
  if (t === 'url') return key === 'omni_url' ? 'http://192.168.1.30:8080/v1' : 'http://192.168.1.30:11434';
  const int = /^int\((-?\d*),(-?\d*)\)$/.exec(t);
  if (int) return Math.max(Number(int[1] || 0), Math.min(Number(int[2] || 1e9), 8));
  if (t.startsWith('list(')) return (/^list\(([^|)]+)/.exec(t)?.[1]) ?? '';
  if (key === 'mqtt_url') return 'mqtt://192.168.1.5:1883';
  if (key === 'quiet_hours') return '23:00-07:00';
  if (key === 'models_dir') return '/share/sarai/models';
  if (key.startsWith('mqtt_') && key.endsWith('_file')) return `/ssl/sarai/${key}.pem`;
  if (key === 'digest_time') return '21:30';
  if (key === 'cluster_group') return 'house';
  if (key === 'cluster_worker_id') return 'garage_box';
  throw new Error(`no sample for ${key}: ${type}`);
}

describe('add-on manifest (config.yaml) under the add-on linter rules', () => {
  it('has the required keys with valid values', () => {
    for (const k of ['name', 'version', 'slug', 'description', 'arch']) expect(manifest[k], k).toBeTruthy();
    expect(manifest['slug']).toMatch(/^[a-z0-9_]+$/);
    expect(typeof manifest['version']).toBe('string');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(manifest['version']).toBe(pkg.version);
    expect(String(manifest['description']).length).toBeLessThanOrEqual(120);
    expect(manifest['url']).toMatch(/^https:\/\//);
  });

  it('lists only supported architectures (aarch64, amd64), both present', () => {
    expect([...(manifest['arch'] as string[])].sort()).toEqual(SUPPORTED_ARCH);
  });

  it('sets no key to its default value, and no unknown or deprecated key', () => {
    for (const [k, v] of Object.entries(manifest)) {
      expect(KNOWN_KEYS.has(k), `unknown key ${k}`).toBe(true);
      expect(DEPRECATED, `deprecated key ${k}`).not.toContain(k);
      if (k in DEFAULTS) expect(v, `${k} is set to its default`).not.toEqual(DEFAULTS[k]);
    }
  });

  it('uses ingress without webui, without watchdog, with an mdi panel icon', () => {
    expect(manifest['ingress']).toBe(true);
    expect(manifest).not.toHaveProperty('webui');
    expect(manifest).not.toHaveProperty('watchdog');
    expect(manifest['panel_icon']).toMatch(/^mdi:[a-z0-9-]+$/);
    // ingress_port is left at 8099: the bridge's default http.port must be the same
    const cfg = configFromObject({}, 'test');
    expect(cfg.http.port).toBe(8099);
  });

  it('maps folders only with types that Supervisors before and after the 2026.07 app rename both know', () => {
    const map = manifest['map'] as (Obj | string)[];
    expect(map.length).toBeGreaterThan(0);
    for (const m of map) {
      // the object form ({type, read_only, path}) since Supervisor 2023.11; the string form `share:rw` too
      const type = typeof m === 'string' ? m.split(':')[0] : m['type'];
      expect(MAP_TYPES_ONE_SIDE, `map type ${String(type)} is known to one side of the rename only`).not.toContain(type);
      expect(MAP_TYPES_BOTH_SIDES).toContain(type);
      if (typeof m !== 'string') expect(Object.keys(m).every((k) => ['type', 'read_only', 'path'].includes(k))).toBe(true);
    }
    // the models_dir option is validated to live under /data or /share: /share must be mapped writable
    expect(map).toContainEqual({ type: 'share', read_only: false });
    // the mqtt_*_file options name PEM files under /ssl (read-only is enough), /share or /data
    expect(map).toContainEqual({ type: 'ssl', read_only: true });
    for (const k of ['mqtt_ca_file', 'mqtt_cert_file', 'mqtt_key_file']) expect(String(schema[k])).toContain('(ssl|share|data)');
  });

  it('services, discovery and ports are well formed', () => {
    for (const s of manifest['services'] as string[]) expect(s).toMatch(/^[a-z]+:(provide|want|need)$/);
    expect(manifest['discovery']).toEqual(['wyoming']);
    for (const [port, host] of Object.entries((manifest['ports'] as Obj | undefined) ?? {})) {
      expect(port).toMatch(/^\d+\/(tcp|udp)$/);
      expect(host === null || Number.isInteger(host)).toBe(true);
    }
  });

  it('options and schema agree: every option is in the schema and valid, required schema keys have options', () => {
    for (const [k, v] of Object.entries(options)) {
      expect(schema, `option ${k} has no schema`).toHaveProperty(k);
      const t = schema[k];
      if (typeof t === 'string') expect(validates(t, v), `${k}=${JSON.stringify(v)} against ${t}`).toBe(true);
      else expect(Array.isArray(v) && Array.isArray(t), k).toBe(true);
    }
    for (const [k, t] of Object.entries(schema)) {
      if (typeof t === 'string') {
        expect(t, `schema type of ${k}`).toMatch(TYPE_RE);
        if (!t.endsWith('?')) expect(options, `required schema key ${k} needs an option value`).toHaveProperty(k);
      } else {
        expect(Array.isArray(t) && t.length === 1, `${k} is a list of one item shape`).toBe(true);
        for (const [ik, it] of Object.entries((t as Obj[])[0] ?? {})) expect(String(it), `${k}.${ik}`).toMatch(TYPE_RE);
      }
    }
  });

  it('every flat option lands on a real configuration key: all options set still make a valid config', () => {
    const defaults = yaml.load(readFileSync(path.join(ROOT, 'config/sarai.yaml'), 'utf8')) as Obj;
    const all: Obj = { ...options };
    for (const [k, t] of Object.entries(schema)) {
      if (typeof t !== 'string') continue;
      expect(ADDON_OPTION_PATHS[k] ?? (k === 'cameras' || k === 'satellites' ? [] : undefined), `${k} has no ADDON_OPTION_PATHS entry`).toBeDefined();
      if (!(k in all)) all[k] = sample(k, t);
    }
    all['cameras'] = [{ id: 'front_door', name: 'Front door', rtsp_url: 'rtsp://u:p@192.168.1.20:554/s2', camera_entity: 'camera.front_door', motion_entity: 'binary_sensor.front_door_motion', cooldown_s: 30, prompt: 'Anyone there?', clip_on_motion: true, clip_seconds: 5, sounds: 'glass, smoke_alarm', sound_rtsp: true }];
    all['satellites'] = [{ id: 'kitchen', name: 'Kitchen', media_player: 'media_player.kitchen' }];
    for (const [i, item] of Object.entries({ cameras: all['cameras'], satellites: all['satellites'] })) {
      const shape = (schema[i] as Obj[])[0] as Obj;
      for (const [k, v] of Object.entries((item as Obj[])[0] as Obj)) expect(validates(String(shape[k]), v), `${i}.${k}`).toBe(true);
    }
    const cfg = configFromObject(fromAddonOptions(defaults, all), 'options.json');
    expect(cfg.models_dir).toBe('/share/sarai/models');
    expect(cfg.models['omni']?.url).toBe('http://192.168.1.30:8080/v1');
    expect(cfg.models['expert']?.model).toBe('solar:10.7b');
    expect(cfg.memory.budget_mb).toBe(12000);
    expect(cfg.mqtt).toMatchObject({ ca_file: '/ssl/sarai/mqtt_ca_file.pem', cert_file: '/ssl/sarai/mqtt_cert_file.pem', key_file: '/ssl/sarai/mqtt_key_file.pem', session_expiry_s: 8 });
    expect(cfg.cameras['front_door']?.clip_on_motion).toBe(true);
    expect(cfg.cameras['front_door']?.sounds).toEqual(['glass', 'smoke_alarm']);
    expect(cfg.models['audio_events']?.enabled).toBe(true);
    expect(cfg.satellites['kitchen']?.media_player).toBe('media_player.kitchen');
    // the shipped options alone (a fresh install) are a valid config too
    expect(() => configFromObject(fromAddonOptions(defaults, options), 'options.json')).not.toThrow();
  });

  it('translations/en.yaml names and describes every option (and every exposed port)', () => {
    const tr = load('translations/en.yaml') as { configuration: Record<string, { name?: string; description?: string }>; network?: Obj };
    for (const k of Object.keys(schema)) {
      expect(tr.configuration[k]?.name, `${k} name`).toBeTruthy();
      expect(tr.configuration[k]?.description, `${k} description`).toBeTruthy();
    }
    expect(Object.keys(tr.configuration).filter((k) => !(k in schema))).toEqual([]);
    for (const port of Object.keys((manifest['ports'] as Obj | undefined) ?? {})) expect(tr.network?.[port], port).toBeTruthy();
  });

  it('build.yaml has a base image for each architecture; the Dockerfile uses it; run.sh is executable', () => {
    const build = load('build.yaml') as { build_from: Record<string, string> };
    expect(Object.keys(build).filter((k) => !BUILD_KEYS.includes(k)), 'unknown or removed build.yaml keys').toEqual([]);
    expect(Object.keys(build.build_from).sort()).toEqual([...(manifest['arch'] as string[])].sort());
    // each architecture builds on its own base image, never another's
    for (const [arch, img] of Object.entries(build.build_from)) expect(img).toMatch(new RegExp(`^ghcr\\.io/home-assistant/${arch}-base(-debian)?:[\\w.-]+$`));
    const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(docker).toMatch(/^ARG BUILD_FROM/m);
    // the final stage is the architecture's base image (which brings bashio for run.sh)
    expect([...docker.matchAll(/^FROM\s+(\S+)/gm)].at(-1)?.[1]).toBe('${BUILD_FROM}');
    // the health check probes the port ingress uses
    expect(docker).toMatch(/HEALTHCHECK[\s\S]*127\.0\.0\.1:8099\/healthz/);
    const run = path.join(ROOT, 'addon/run.sh');
    expect(readFileSync(run, 'utf8')).toMatch(/^#!\/usr\/bin\/with-contenv bashio\n/);
    expect(statSync(run).mode & 0o111).not.toBe(0);
  });

  it('DOCS.md, CHANGELOG.md, translations, icon and logo sit next to config.yaml, where the Supervisor reads them', () => {
    for (const f of ['DOCS.md', 'CHANGELOG.md', 'translations/en.yaml', 'icon.png', 'logo.png']) expect(existsSync(path.join(ROOT, f)), f).toBe(true);
    expect(lstatSync(path.join(ROOT, 'DOCS.md')).isSymbolicLink() || lstatSync(path.join(ROOT, 'DOCS.md')).isFile()).toBe(true);
    expect(readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8')).toContain(`## ${String(manifest['version'])}`);
    const docs = readFileSync(path.join(ROOT, 'DOCS.md'), 'utf8');
    for (const topic of ['## Installation', '## Configuration', 'sarai_alert', 'Wyoming', 'image_proxy']) expect(docs).toContain(topic);
  });
});
