import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromAddonOptions } from '../../src/config/addon-options.js';
import { ConfigError } from '../../src/config/errors.js';
import { configFromObject, DEFAULT_CONFIG_PATH, loadConfig } from '../../src/config/load.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-config-'));
function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/sarai.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env, SARAI_CONFIG: '' } });

describe('configuration', () => {
  it('loads the default file with the seed line-up and budgets', () => {
    const { config } = loadConfig(DEFAULT_CONFIG_PATH, {});
    const omni = config.models['omni'];
    expect(omni).toMatchObject({ name: 'Qwen2.5-Omni-7B', max_memory_mb: 4900, context_length: 8192, auto_unload: false });
    expect(config.models['tiny']).toMatchObject({ name: 'LFM2-1.2B', backend: 'llama' });
    expect(config.models['expert']).toMatchObject({ name: 'SOLAR', backend: 'ollama' });
    expect(config.models['embedding']).toMatchObject({ name: 'EmbeddingGemma' });
    expect(config.memory).toEqual({ budget_mb: 12000, hard_limit_mb: 16000 });
    expect(config.mqtt.url).toBeUndefined();
    expect(config.mqtt.embedded).toEqual({ host: '127.0.0.1', port: 1883 });
  });

  it('fills defaults for missing sections', () => {
    const config = configFromObject({}, 'test');
    expect(config.mqtt.base_topic).toBe('sarai');
    expect(config.mqtt.max_payload_mb).toBe(16);
    expect(config.http.port).toBe(8099);
    expect(config.wyoming).toMatchObject({ asr_port: 10310, tts_port: 10210 });
  });

  it('names every mistake at once as path: message', () => {
    const p = file(
      'three.yaml',
      ['mqtt:', '  base_topic: sarai', '  max_payload_mb: lots', 'http:', '  port: 99999', 'cameras:', '  front_door:', '    colour: red', ''].join('\n'),
    );
    const problems = problemsOf(() => loadConfig(p, {}));
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^mqtt\.max_payload_mb: must be number/),
        expect.stringMatching(/^http\.port: must be <= 65535/),
        'cameras.front_door.colour: unknown key',
      ]),
    );
  });

  it('rejects unknown top-level keys, bad backends and bad ids', () => {
    const problems = problemsOf(() =>
      configFromObject({ mqtt_url: 'x', models: { tiny: { backend: 'gpt5' } }, cameras: { 'Front Door': {} } }, 'test'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'mqtt_url: unknown key',
        expect.stringMatching(/^models\.tiny\.backend: must be one of "llama", "transformers", "openai"/),
        expect.stringMatching(/cameras.*Front Door/),
      ]),
    );
  });

  it('reports invalid YAML with its line, and a missing file, without a stack trace', () => {
    const bad = file('bad.yaml', 'mqtt:\n  base_topic: [unclosed\n');
    expect(problemsOf(() => loadConfig(bad, {}))[0]).toMatch(/^line \d+, column \d+: invalid YAML/);
    expect(problemsOf(() => loadConfig(path.join(tmp, 'nope.yaml'), {}))).toEqual(['(file): cannot read: file not found']);
  });

  it('applies SARAI__ environment overrides before validation', () => {
    const p = file('env.yaml', 'mqtt:\n  embedded:\n    port: 1883\n');
    const { config } = loadConfig(p, { SARAI__MQTT__EMBEDDED__PORT: '1884', SARAI__LOG__LEVEL: 'debug' });
    expect(config.mqtt.embedded.port).toBe(1884);
    expect(config.log.level).toBe('debug');
    expect(problemsOf(() => loadConfig(p, { SARAI__MQTT__EMBEDDED__PORT: 'many' }))[0]).toMatch(/mqtt\.embedded\.port/);
  });

  it('maps add-on options (lists of cameras and satellites) onto the schema', () => {
    const merged = fromAddonOptions(
      { mqtt: { base_topic: 'sarai' } },
      {
        cameras: [{ id: 'front_door', name: 'Front', cooldown_s: 10 }],
        satellites: [{ id: 'kitchen', media_player: 'media_player.kitchen' }],
        log_level: 'debug',
        log_format: 'json',
        mqtt_url: 'mqtt://core-mosquitto:1883',
        mqtt_password: '',
        memory_budget_mb: 8000,
        frigate_api_url: 'http://ccab4aaf-frigate:5000',
      },
    );
    const config = configFromObject(merged, 'options.json');
    expect(config.cameras['front_door']).toMatchObject({ name: 'Front', cooldown_s: 10 });
    expect(config.satellites['kitchen']?.media_player).toBe('media_player.kitchen');
    expect(config.data_dir).toBe('/data');
    expect(config.log.level).toBe('debug');
    expect(config.log.format).toBe('json');
    expect(config.mqtt.url).toBe('mqtt://core-mosquitto:1883');
    expect(config.mqtt.password).toBe('');
    expect(config.memory.budget_mb).toBe(8000);
    expect(config.frigate.api_url).toBe('http://ccab4aaf-frigate:5000');
  });

  it('catches cross-field mistakes', () => {
    const problems = problemsOf(() =>
      configFromObject({ memory: { budget_mb: 20000, hard_limit_mb: 16000 }, models: { expert: { backend: 'ollama' }, omni: { backend: 'openai', url: 'http://x:8080' } } }, 'test'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'memory.budget_mb: must not exceed memory.hard_limit_mb',
        'models.expert.url: is required for backend ollama',
        'models.omni.url: an OpenAI-compatible URL ends in /v1',
      ]),
    );
    const frigate = (api_url: string) => problemsOf(() => configFromObject({ frigate: { enabled: true, api_url } }, 'test'));
    expect(frigate('frigate:5000')).toEqual(['frigate.api_url: must be http:// or https://']);
    expect(frigate('http://')).toEqual(['frigate.api_url: is not a URL; it looks like http://frigate:5000']);
    expect(frigate('http://admin:pw@frigate:5000')).toEqual(['frigate.api_url: give only the base URL (no query, fragment or credentials)']);
    expect(configFromObject({ frigate: { enabled: true, api_url: 'http://ccab4aaf-frigate:5000/' } }, 'test').frigate.api_url).toBe('http://ccab4aaf-frigate:5000/');
  });

  it('the Wyoming conversation port must differ from the ASR and TTS ports; digest.time must be HH:MM or empty', () => {
    expect(problemsOf(() => configFromObject({ wyoming: { asr_port: 10400, handle_port: 10400 } }, 'test'))).toEqual(['wyoming.handle_port: must differ from wyoming.asr_port and wyoming.tts_port']);
    expect(configFromObject({ wyoming: { conversation: false, asr_port: 10400, handle_port: 10400 } }, 'test').wyoming.handle_port).toBe(10400);
    expect(problemsOf(() => configFromObject({ digest: { time: '25:00' } }, 'test')).join(' ')).toMatch(/digest\.time/);
    expect(problemsOf(() => configFromObject({ digest: { period: 'fortnight' } }, 'test')).join(' ')).toMatch(/digest\.period/);
    expect(configFromObject({ digest: { time: '' } }, 'test').digest).toEqual({ enabled: true, time: '', period: 'today' });
  });
});

describe('sarai check-config', () => {
  it('prints all three problems and exits non-zero', () => {
    const p = file('cli3.yaml', 'mqtt:\n  max_payload_mb: lots\nhttp:\n  port: 99999\nbogus: 1\n');
    const r = cli(['check-config', p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('3 problem(s)');
    expect(r.stderr).toContain('mqtt.max_payload_mb');
    expect(r.stderr).toContain('http.port');
    expect(r.stderr).toContain('bogus: unknown key');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('summarizes a good configuration on one screen', () => {
    const r = cli(['check-config', DEFAULT_CONFIG_PATH]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Configuration OK');
    expect(r.stdout).toMatch(/omni\s+openai\s+Qwen2.5-Omni-7B/);
    expect(r.stdout).toContain('budget 12000 MB');
    expect(r.stdout.split('\n').length).toBeLessThan(40);
  });

  it('--help works', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('check-config');
  });
});
