import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { InputError } from '../../src/core/errors.js';
import { DownloadError, downloadFile } from '../../src/models/download.js';
import { formatModelsList, modelsList, modelsVerify } from '../../src/models/list.js';
import { hfUrl, modelsPull, pullMissingModels, resolvePullSource } from '../../src/models/pull.js';
import { silentLog } from '../backends/llama-helpers.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';

/** A file server on 127.0.0.1 with Range support; `cutAfter` drops the connection mid-body once. */
interface Served {
  body: Buffer;
  cutAfter?: number;
  noRange?: boolean;
}
const files = new Map<string, Served>();
const requests: { url: string; range?: string }[] = [];
let server: http.Server;
let base = '';
const tmp = tempModelDir('sarai-pull-');
let model: Buffer;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  model = readFileSync(tinyLlamaFile(path.join(tmp.dir, 'source.gguf')));
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) });
    const f = files.get(req.url ?? '');
    if (!f) {
      res.writeHead(404).end('not found');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !f.noRange) {
      const start = Number(m[1]);
      if (start >= f.body.length) {
        res.writeHead(416, { 'content-range': `bytes */${f.body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': f.body.length - start, 'content-range': `bytes ${start}-${f.body.length - 1}/${f.body.length}` });
      res.end(f.body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': f.body.length });
    if (f.cutAfter !== undefined) {
      const cut = f.cutAfter;
      delete f.cutAfter; // only the first transfer breaks
      // end (FIN) rather than destroy (RST): a reset can discard bytes already written, and the
      // client must see a partial body, not none
      res.write(f.body.subarray(0, cut), () => res.socket?.end());
      return;
    }
    res.end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tmp.cleanup();
});

const sink = () => {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { out, lines };
};

describe('model download', () => {
  it('resumes an interrupted transfer with a Range request and never shows a half file under the final name', async () => {
    files.set('/m/resume.gguf', { body: model, cutAfter: 200_000 });
    const dest = path.join(tmp.dir, 'dl', 'resume.gguf');
    const first = await downloadFile({ url: `${base}/m/resume.gguf`, dest }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(DownloadError);
    expect((first as Error).message).toMatch(/run the pull again to resume/);
    expect(existsSync(dest)).toBe(false);
    const partSize = statSync(`${dest}.part`).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(model.length);

    requests.length = 0;
    const r = await downloadFile({ url: `${base}/m/resume.gguf`, dest, sha256: sha(model) });
    expect(requests).toEqual([{ url: '/m/resume.gguf', range: `bytes=${partSize}-` }]);
    expect(r).toMatchObject({ file: dest, bytes: model.length, sha256: sha(model), resumedFrom: partSize });
    expect(readFileSync(dest).equals(model)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('restarts from zero when the server ignores Range', async () => {
    files.set('/m/norange.gguf', { body: model, noRange: true });
    const dest = path.join(tmp.dir, 'dl', 'norange.gguf');
    writeFileSync(`${dest}.part`, model.subarray(0, 1000));
    const r = await downloadFile({ url: `${base}/m/norange.gguf`, dest, sha256: sha(model) });
    expect(r.resumedFrom).toBe(0);
    expect(readFileSync(dest).equals(model)).toBe(true);
  });

  it('reports 404 clearly and creates no file', async () => {
    const dest = path.join(tmp.dir, 'dl', 'missing.gguf');
    const err = await downloadFile({ url: `${base}/m/missing.gguf`, dest }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toBe(`download of ${base}/m/missing.gguf failed: HTTP 404 Not Found`);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('discards a download whose sha256 does not match', async () => {
    files.set('/m/bad.gguf', { body: model });
    const dest = path.join(tmp.dir, 'dl', 'bad.gguf');
    const err = await downloadFile({ url: `${base}/m/bad.gguf`, dest, sha256: 'a'.repeat(64) }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(new RegExp(`sha256 mismatch \\(expected a{64}, got ${sha(model)}\\); the file was discarded`));
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });
});

describe('sarai models pull / list / verify', () => {
  const config = () =>
    configFromObject(
      {
        models_dir: 'models',
        models: {
          tiny: { backend: 'llama', gguf_file: 'tiny.gguf', download_url: `${base}/m/tiny.gguf`, sha256: sha(model), max_memory_mb: 10 },
          embedding: { backend: 'llama', gguf_file: 'embed.gguf', gguf_repo_id: 'ggml-org/embeddinggemma-300M-GGUF' },
          expert: { backend: 'ollama', url: 'http://127.0.0.1:11434', model: 'solar', max_memory_mb: 6000 },
        },
      },
      'test',
    );

  it('maps hf: references and roles to URLs and destinations', async () => {
    expect(hfUrl('hf:owner/repo/sub/file.gguf')).toEqual({ url: 'https://huggingface.co/owner/repo/resolve/main/sub/file.gguf', file: 'file.gguf' });
    const c = config();
    expect(resolvePullSource(c, tmp.dir, 'embedding')).toEqual({
      url: 'https://huggingface.co/ggml-org/embeddinggemma-300M-GGUF/resolve/main/embed.gguf',
      dest: path.join(tmp.dir, 'models', 'embed.gguf'),
      role: 'embedding',
    });
    expect(resolvePullSource(c, tmp.dir, 'hf:a/b/x.gguf').dest).toBe(path.join(tmp.dir, 'models', 'x.gguf'));
    expect(() => resolvePullSource(c, tmp.dir, 'hf:a/../etc/passwd')).toThrow(InputError);
    expect(() => resolvePullSource(c, tmp.dir, `${base}/x/..%2F..%2Fevil.gguf`)).toThrow(InputError);
    expect(() => resolvePullSource(c, tmp.dir, 'expert')).toThrow(/only llama \(GGUF\) roles are pulled/);
    await expect(modelsPull({ config: c, baseDir: tmp.dir, target: 'expert' })).rejects.toThrow(/backend ollama: its model is not in this process/);
    expect(() => resolvePullSource(c, tmp.dir, 'nope')).toThrow(/no role "nope"/);
  });

  it('pulls a role with plain progress lines, then lists and verifies it', async () => {
    files.set('/m/tiny.gguf', { body: model });
    const c = config();
    const { out, lines } = sink();
    const pulled = await modelsPull({ config: c, baseDir: tmp.dir, target: 'tiny', out });
    const r = pulled.files[0] ?? { file: '' };
    expect(pulled.failed).toEqual([]);
    expect(pulled.files).toEqual([{ role: 'tiny', file: path.join(tmp.dir, 'models', 'tiny.gguf'), bytes: model.length, sha256: sha(model), checked: 'pinned' }]);
    expect(lines.at(-1)).toMatch(/^tiny tiny.gguf: 100% 0\.5\/0\.5 MB [\d.]+ MB\/s\n$/);
    const rows = modelsList(c, tmp.dir);
    expect(rows.find((x) => x.role === 'tiny')).toMatchObject({ present: true, sizeBytes: model.length, loaded: false });
    expect(rows.find((x) => x.role === 'embedding')).toMatchObject({ present: false });
    expect(rows.find((x) => x.role === 'expert')).toMatchObject({ memoryMb: 6000, backend: 'ollama' });
    expect(formatModelsList(rows)).toMatch(/^ROLE\s+BACKEND\s+FILE \/ MODEL\s+SIZE\s+PRESENT\s+LOADED\s+MEMORY\ntiny\s+llama\s+\S+tiny.gguf\s+0.5 MB\s+yes\s+no/);
    const v = await modelsVerify(c, tmp.dir);
    expect(v.find((x) => x.role === 'tiny')).toMatchObject({ ok: true, sha256: sha(model) });
    expect(v.find((x) => x.role === 'embedding')?.problems[0]).toMatch(/missing \(run `sarai models pull embedding`\)/);
    // a damaged file fails verify, naming the problem
    writeFileSync(r.file, model.subarray(0, 5000));
    const v2 = await modelsVerify(c, tmp.dir, ['tiny']);
    expect(v2[0]?.ok).toBe(false);
    expect(v2[0]?.problems.join('\n')).toMatch(/truncated[\s\S]*sha256 \w+ does not match/);
  });

  it('at start: pulls missing models only when allow_downloads, else says where to put them', async () => {
    files.set('/m/auto.gguf', { body: model });
    const raw = (allow: boolean) =>
      configFromObject({ models_dir: 'auto', runtime: { allow_downloads: allow }, models: { tiny: { backend: 'llama', gguf_file: 'auto.gguf', download_url: `${base}/m/auto.gguf` } } }, 'test');
    expect(await pullMissingModels(raw(false), tmp.dir, silentLog)).toEqual(['tiny']);
    expect(existsSync(path.join(tmp.dir, 'auto', 'auto.gguf'))).toBe(false);
    expect(await pullMissingModels(raw(true), tmp.dir, silentLog)).toEqual([]);
    expect(readFileSync(path.join(tmp.dir, 'auto', 'auto.gguf')).equals(model)).toBe(true);
  });
});
