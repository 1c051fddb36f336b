import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersBackend } from '../../src/backends/transformers/index.js';
import { createLogger } from '../../src/log/logger.js';
import { makeTinyTts } from '../fixtures/onnx/index.js';
import { backendFor, configWithRole, tempDir } from './transformers-helpers.js';

// runtime.allow_downloads: a hub repo id missing from the models folder is fetched over HTTP
// into it. The "hub" is a loopback server answering the hub's /<repo>/resolve/main/<file> URLs.
let tmp: { dir: string; cleanup: () => Promise<void> };
let server: http.Server;
const requests: string[] = [];
let hubUrl = '';

beforeAll(async () => {
  tmp = await tempDir('transformers-download');
  const source = path.join(tmp.dir, 'hub-files');
  await makeTinyTts(source);
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/tiny-org\/tiny-tts\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    const file = m?.[1] ? path.join(source, decodeURIComponent(m[1])) : '';
    if (!file || !file.startsWith(source) || !existsSync(file)) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tmp.cleanup();
});

describe('transformers backend: downloads', () => {
  it('without allow_downloads never touches the network and says where to put the files', async () => {
    const models = path.join(tmp.dir, 'models-offline');
    const b = backendFor('tts', { model: 'tiny-org/tiny-tts' }, models);
    process.env['HF_ENDPOINT'] = hubUrl; // even with a hub configured, no download without allow_downloads
    await expect(b.synthesize('hi')).rejects.toThrow(`Put tiny-org/tiny-tts in ${path.join(models, 'tiny-org', 'tiny-tts')}`);
    expect(requests).toEqual([]);
    delete process.env['HF_ENDPOINT'];
    await b.dispose();
  });

  it('with allow_downloads fetches into <models_dir>/<repo>, logs progress, and later starts offline', async () => {
    const models = path.join(tmp.dir, 'models');
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const config = configWithRole('tts', { model: 'tiny-org/tiny-tts' }, { allow_downloads: true });
    const online = new TransformersBackend({ role: 'tts', spec: config.models['tts'] ?? (undefined as never), modelsDir: models, runtime: config.runtime, log, hubUrl });
    const r = await online.synthesize('hi');
    expect(r.audio.samples.length).toBe(2 * 800);
    await online.dispose();
    expect(requests.some((u) => u.endsWith('/tiny-org/tiny-tts/resolve/main/onnx/model.onnx'))).toBe(true);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      expect(existsSync(path.join(models, 'tiny-org', 'tiny-tts', f)), f).toBe(true);
    }
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; file?: string });
    expect(logged.some((l) => l.msg === 'downloading model')).toBe(true);
    expect(logged.some((l) => l.msg === 'downloaded file' && l.file === 'onnx/model.onnx')).toBe(true);

    // The downloaded folder is now a normal local model: no network needed.
    const before = requests.length;
    const offline = backendFor('tts', { model: 'tiny-org/tiny-tts' }, models);
    expect((await offline.synthesize('hi')).audio.samples.length).toBe(2 * 800);
    await offline.dispose();
    expect(requests.length).toBe(before);
  });
});
