import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraResult } from '../../src/core/results.js';
import type { Digest } from '../../src/digest/build.js';
import { TimelineStore } from '../../src/publishers/timeline/store.js';
import { tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { runCli } from '../helpers/cli.js';

/** `sarai digest` as a user runs it, over a real timeline file and a tiny real GGUF text model. */
describe('sarai digest (CLI)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-digest-cli-'));
  const config = path.join(dir, 'sarai.yaml');

  beforeAll(() => {
    const store = new TimelineStore(path.join(dir, 'data'), { days: 30, maxBytes: 1e9 });
    const ts = new Date(Date.now() - 60_000).toISOString();
    const row = (id: string, camera: string, objects: string[], alert: boolean): CameraResult => ({
      id, camera, summary: `${objects.join(', ')} seen`, description: 'd', objects, alert, severity: alert ? 'high' : 'none',
      event_type: 'other', route: 'tiny', route_reason: 't', model: 'm', latency_ms: 1, ts, source: 'mqtt',
    });
    store.add(row('a', 'porch', ['person'], true));
    store.add(row('b', 'porch', ['person', 'dog'], false));
    store.close();
    mkdirSync(path.join(dir, 'models'));
    tinyLlamaFile(path.join(dir, 'models', 'tiny.gguf'));
    writeFileSync(config, JSON.stringify({
      data_dir: path.join(dir, 'data'), models_dir: path.join(dir, 'models'), log: { level: 'warn' }, runtime: { threads: 1, onnx_threads: 1 },
      models: { tiny: { backend: 'llama', gguf_file: 'tiny.gguf', max_tokens: 8, context_length: 2048 } },
    }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--plain prints the digest from the counts; a camera with no events says so', async () => {
    const r = await runCli(config, ['digest', 'last_24h', '--plain']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2 events and 1 alert across 1 camera in the last 24 hours. porch: 2 events (1 alert): person ×2, dog ×1.\n');
    const none = await runCli(config, ['digest', 'last_24h', '--camera', 'garage']);
    expect(none).toMatchObject({ code: 0, stdout: 'No events from garage in the last 24 hours.\n' });
  }, 120_000);

  it('--json: prose by the tiny text model around the database counts', async () => {
    const r = await runCli(config, ['digest', 'last_24h', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as Digest;
    expect(d).toMatchObject({ period: 'last_24h', text_source: 'model', totals: { events: 2, alerts: 1, cameras: 1 }, cameras: [{ camera: 'porch', events: 2, alerts: 1, objects: { person: 2, dog: 1 } }] });
    expect(d.text.length).toBeGreaterThan(0);
  }, 120_000);

  it('a period that does not exist or a bad camera id: exit 1 with a clear error', async () => {
    expect(await runCli(config, ['digest', '2026-02-30'])).toMatchObject({ code: 1, stderr: expect.stringContaining('sarai: InputError: digest: 2026-02-30 is not a date') as string });
    expect(await runCli(config, ['digest', '--camera', '../etc'])).toMatchObject({ code: 1, stderr: expect.stringContaining('"camera" must be a camera id') as string });
  }, 120_000);
});
