import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError } from '../../src/core/data-dir-lock.js';
import { freePort } from '../helpers/ports.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Two SARAi processes on one data_dir (two cluster workers started from one folder) would share
 * the database, the input spool and the MQTT client id: the second is refused at start with
 * what to change, and the folder is free again once the first stops or dies.
 */
describe('one SARAi per data_dir', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-lock-'));
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a second bridge on the same data_dir is refused (in process and as `sarai run`); after the first stops, it starts', async () => {
    const embedded = () => ({ mqtt: { embedded: { host: '127.0.0.1', port: 0 } } });
    const first = await startTestApp(embedded(), { dataDir: dir, keepDataDir: true });
    await expect(startTestApp(embedded(), { dataDir: dir, keepDataDir: true })).rejects.toThrow(DataDirInUseError);
    const r = spawnSync(process.execPath, ['bin/sarai.js', 'run'], {
      encoding: 'utf8',
      env: { ...process.env, SARAI_CONFIG: '', SARAI__MQTT__EMBEDDED__PORT: String(await freePort()), SARAI__HTTP__PORT: '0', SARAI__HTTP__HOST: '127.0.0.1', SARAI__WYOMING__ENABLED: 'false', SARAI__DATA_DIR: dir },
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`data_dir ${dir} is in use by another SARAi process`);
    expect(r.stderr).toContain('its own data_dir');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await first.stop();
    apps.push(await startTestApp(embedded(), { dataDir: dir, keepDataDir: true }));
  }, 60_000);
});
