import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { createLogger, logFormat } from '../../src/log/logger.js';
import { textLine } from '../../src/log/text-format.js';
import { freePort } from '../helpers/ports.js';

/** What a logger wrote, as one string. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('log.format text', () => {
  it('writes one readable line a record: time, level, module, message, fields', () => {
    const out = new Capture();
    const log = createLogger('info', out, 'text');
    log.info({ module: 'mqtt', url: 'mqtt://127.0.0.1:1884', port: 1884, roles: ['tiny', 'stt'], note: 'two words' }, 'connected to MQTT broker');
    expect(out.text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z INFO {2}mqtt: connected to MQTT broker url=mqtt:\/\/127\.0\.0\.1:1884 port=1884 roles=\["tiny","stt"\] note="two words"\n$/);
  });

  it('redacts secrets as the JSON format does', () => {
    const out = new Capture();
    const log = createLogger('trace', out, 'text');
    log.warn({ module: 'ha', token: 'ha-secret-token', mqtt: { password: 'mqtt-secret' } }, 'refused');
    expect(out.text).not.toMatch(/ha-secret-token|mqtt-secret/);
    expect(out.text).toContain('token=[redacted]');
  });

  it('escapes control characters from the network and indents a message\'s line breaks, so nothing can forge a record', () => {
    const out = new Capture();
    const log = createLogger('info', out, 'text');
    log.warn({ module: 'input', topic: 'sarai/camera/x\n2026-01-01 00:00:00.000Z ERROR forged' }, 'bad topic\r\nERROR forged too');
    const lines = out.text.split('\n');
    expect(lines.filter((l) => /^\S/.test(l))).toHaveLength(1); // one record at column 0
    expect(lines[1]).toMatch(/^ {4}ERROR forged too topic="sarai\/camera\/x\\n2026-01-01/); // the message's break: an indented continuation
    expect(lines[0]).toMatch(/bad topic\\r$/);
  });

  it('an error: type and message on the line; the stack only at debug and trace', () => {
    const err = new InputError('snapshot is not an image');
    const info = new Capture();
    createLogger('info', info, 'text').error({ module: 'camera', err }, 'snapshot refused');
    expect(info.text).toMatch(/ERROR camera: snapshot refused err="InputError: snapshot is not an image"\n$/);
    const debug = new Capture();
    createLogger('debug', debug, 'text').error({ module: 'camera', err }, 'snapshot refused');
    expect(debug.text).toMatch(/err="InputError: snapshot is not an image"\n {4}at /);
  });

  it('passes through what is not a JSON object', () => {
    expect(textLine('not json\n')).toBe('not json\n');
    expect(textLine('[1,2]')).toBe('[1,2]');
  });

  it('auto: text on a terminal and under the Supervisor, JSON in a pipe', () => {
    expect(logFormat('auto', {}, { isTTY: true })).toBe('text');
    expect(logFormat('auto', { SUPERVISOR_TOKEN: 't' }, { isTTY: false })).toBe('text');
    expect(logFormat('auto', {}, { isTTY: false })).toBe('json');
    expect(logFormat('json', { SUPERVISOR_TOKEN: 't' }, { isTTY: true })).toBe('json');
    expect(logFormat('text', {}, {})).toBe('text');
  });

  it('sarai run writes text lines with log.format text (and JSON by default into a pipe)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-logfmt-'));
    try {
      const run = async (format?: string): Promise<string> => {
        const cfg = path.join(dir, `c-${format ?? 'auto'}.yaml`);
        const [mqttPort, httpPort] = [await freePort(), await freePort()];
        writeFileSync(
          cfg,
          [`data_dir: ${dir}/data-${format ?? 'auto'}`, `models_dir: ${dir}/models`, 'runtime: {allow_downloads: false}', `mqtt: {embedded: {port: ${mqttPort}}}`, `http: {port: ${httpPort}, host: 127.0.0.1}`, 'wyoming: {enabled: false}', 'models: {}', ...(format ? [`log: {format: ${format}}`] : [])].join('\n'),
        );
        const child = spawn(process.execPath, ['bin/sarai.js', 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SUPERVISOR_TOKEN: '' } });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no start line within 20 s:\n${out}`)), 20_000);
          child.stdout.on('data', () => {
            if (/SARAi is/.test(out)) {
              clearTimeout(t);
              resolve();
            }
          });
        });
        child.kill('SIGTERM');
        await new Promise((r) => child.once('close', r));
        return out;
      };
      const text = await run('text');
      expect(text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z INFO {2}broker: embedded MQTT broker listening host=127\.0\.0\.1 port=\d+$/m);
      expect(text).not.toMatch(/^\{/m);
      const json = await run();
      for (const l of json.split('\n').filter(Boolean)) expect(() => JSON.parse(l) as unknown).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
