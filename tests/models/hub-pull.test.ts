import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject, DEFAULT_CONFIG_PATH, loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { etagSha256, hubEndpoint, hubFileUrl } from '../../src/models/hub.js';
import { modelsList, modelsVerify } from '../../src/models/list.js';
import { loadManifest, parseManifest } from '../../src/models/manifest.js';
import { ModelManager } from '../../src/models/manager.js';
import { pullPlan } from '../../src/models/plan.js';
import { modelsPull, pullMissingModels } from '../../src/models/pull.js';
import { LogSink } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { silentLog } from '../backends/llama-helpers.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { HubServer, sha256 } from '../fixtures/hub-server.js';
import { makeTinyTts } from '../fixtures/onnx/index.js';

const tmp = tempModelDir('sarai-hub-');
const hub = new HubServer();
let gguf: Buffer;
const mmproj = Buffer.alloc(300_000, 7); // bytes only: these tests are about transport, not mtmd
let savedEndpoint: string | undefined;

beforeAll(async () => {
  mkdirSync(path.join(tmp.dir, 'src'), { recursive: true });
  gguf = readFileSync(tinyLlamaFile(path.join(tmp.dir, 'src', 'tiny.gguf')));
  const tts = await makeTinyTts(path.join(tmp.dir, 'src', 'tts'));
  await hub.start();
  hub
    .put('LiquidAI/LFM2-VL-450M-GGUF', 'LFM2-VL-450M-Q8_0.gguf', { body: gguf, lfs: true })
    .put('LiquidAI/LFM2-VL-450M-GGUF', 'mmproj-LFM2-VL-450M-Q8_0.gguf', { body: mmproj, lfs: true })
    .putFolder('Xenova/mms-tts-eng', tts.dir, { onnxSuffix: '_quantized' });
  savedEndpoint = process.env['HF_ENDPOINT'];
  process.env['HF_ENDPOINT'] = hub.url;
});
afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env['HF_ENDPOINT'];
  else process.env['HF_ENDPOINT'] = savedEndpoint;
  await hub.stop();
  tmp.cleanup();
});

/** A config with the default line-up's vision (GGUF + mmproj) and tts (transformers.js folder) roles. */
function lineup(dir: string, extra: Record<string, unknown> = {}) {
  return configFromObject(
    {
      models_dir: dir,
      models: {
        vision: { backend: 'llama', gguf_repo_id: 'LiquidAI/LFM2-VL-450M-GGUF', gguf_file: 'LFM2-VL-450M-Q8_0.gguf', mmproj_file: 'mmproj-LFM2-VL-450M-Q8_0.gguf' },
        tts: { backend: 'transformers', model: 'Xenova/mms-tts-eng', task: 'text-to-speech' },
        expert: { backend: 'ollama', url: 'http://127.0.0.1:11434', model: 'solar' },
      },
      ...extra,
    },
    'test',
  );
}

describe('hub URLs and checksums', () => {
  it('builds /<repo>/resolve/<rev>/<file> on HF_ENDPOINT and refuses unsafe parts', () => {
    expect(hubEndpoint({ HF_ENDPOINT: 'http://mirror.local:8080/' })).toBe('http://mirror.local:8080');
    expect(hubEndpoint({})).toBe('https://huggingface.co');
    expect(() => hubEndpoint({ HF_ENDPOINT: 'ftp://x' })).toThrow(/must be http/);
    expect(hubFileUrl('Xenova/mms-tts-eng', 'onnx/model_quantized.onnx', 'main', 'http://h')).toBe('http://h/Xenova/mms-tts-eng/resolve/main/onnx/model_quantized.onnx');
    expect(() => hubFileUrl('a/../b', 'x.gguf')).toThrow(/not a Hugging Face repo id/);
    expect(() => hubFileUrl('a/b', '../x.gguf')).toThrow(/plain file path/);
    expect(() => hubFileUrl('a/b', 'x.gguf', 'main/../x')).toThrow(/not a revision/);
  });

  it('takes the sha256 from X-Linked-Etag, never a git sha1 ETag', () => {
    const s = 'ab'.repeat(32);
    expect(etagSha256(new Headers({ 'x-linked-etag': `"${s}"`, etag: '"1234"' }))).toBe(s);
    expect(etagSha256(new Headers({ etag: `W/"${s.toUpperCase()}"` }))).toBe(s);
    expect(etagSha256(new Headers({ etag: `"${'a'.repeat(40)}"` }))).toBeUndefined();
  });

  it('the shipped manifest parses, pins no sha256 it could not verify, and rejects bad entries', () => {
    const m = loadManifest();
    expect(m.file('LiquidAI/LFM2-VL-450M-GGUF', 'mmproj-LFM2-VL-450M-Q8_0.gguf')).toBeDefined();
    expect(m.repo('Xenova/whisper-tiny.en')?.files.map((f) => f.path)).toContain('onnx/encoder_model_quantized.onnx');
    expect(() => parseManifest('models: [{repo: a/b, files: [{path: ../../etc/passwd}]}]', 'x')).toThrow(/plain file path/);
    expect(() => parseManifest('models: [{repo: a/b, files: [{path: f.gguf, sha256: nothex}]}]', 'x')).toThrow(/64 hex/);
  });
});

describe('sarai models list / pull / verify over the hub', () => {
  it('list says "no" for a GGUF, mmproj or folder that is not there (default config: vision, stt, tts)', () => {
    const empty = path.join(tmp.dir, 'nothing-here');
    const loaded = loadConfig(DEFAULT_CONFIG_PATH, { SARAI__MODELS_DIR: empty });
    const rows = modelsList(loaded.config, loaded.baseDir);
    for (const role of ['tiny', 'embedding', 'vision', 'stt', 'tts']) expect(rows.find((r) => r.role === role), role).toMatchObject({ present: false, sizeBytes: 0 });
    expect(rows.find((r) => r.role === 'stt')?.file).toBe(path.join(empty, 'Xenova', 'whisper-tiny.en'));
    expect(rows.find((r) => r.role === 'vision')?.mmproj).toBe(path.join(empty, 'mmproj-LFM2-VL-450M-Q8_0.gguf'));
    expect(rows.find((r) => r.role === 'expert')?.present).toBeNull();
    expect(existsSync(empty)).toBe(false);
  });

  it('pulls GGUF + mmproj and a transformers.js folder, checked against the hub sha256, then lists and verifies them', async () => {
    const dir = path.join(tmp.dir, 'pull-all');
    const c = lineup(dir);
    hub.requests.length = 0;
    const r = await modelsPull({ config: c, baseDir: tmp.dir, target: '--all', out: silentOut() });
    expect(r.failed).toEqual([]);
    expect(r.files.map((f) => path.relative(dir, f.file)).sort()).toEqual(
      ['LFM2-VL-450M-Q8_0.gguf', 'mmproj-LFM2-VL-450M-Q8_0.gguf', 'Xenova/mms-tts-eng/config.json', 'Xenova/mms-tts-eng/onnx/model_quantized.onnx', 'Xenova/mms-tts-eng/tokenizer.json', 'Xenova/mms-tts-eng/tokenizer_config.json'].sort(),
    );
    // LFM files: sha256 from X-Linked-Etag (the hub's redirect); small git files have none
    expect(r.files.find((f) => f.file.endsWith('mmproj-LFM2-VL-450M-Q8_0.gguf'))).toMatchObject({ sha256: sha256(mmproj), checked: 'hub-etag' });
    expect(r.files.find((f) => f.file.endsWith('config.json'))?.checked).toBe('none');
    expect(readFileSync(path.join(dir, 'LFM2-VL-450M-Q8_0.gguf')).equals(gguf)).toBe(true);
    // the hub's redirect was followed to the CDN path
    expect(hub.requests.some((q) => q.method === 'GET' && q.url.startsWith('/cdn/'))).toBe(true);

    const rows = modelsList(c, tmp.dir);
    expect(rows.find((x) => x.role === 'vision')).toMatchObject({ present: true, sizeBytes: gguf.length + mmproj.length });
    expect(rows.find((x) => x.role === 'tts')?.present).toBe(true);
    const v = await modelsVerify(c, tmp.dir);
    expect(v.map((x) => [x.role, x.ok])).toEqual([['vision', true], ['tts', true]]);
    expect(v[0]?.checked.map((x) => x.against)).toEqual(['hub-etag', 'hub-etag']);

    // a second pull fetches nothing
    hub.requests.length = 0;
    const again = await modelsPull({ config: c, baseDir: tmp.dir, target: 'vision', out: silentOut() });
    expect(again.files.every((f) => f.skipped)).toBe(true);
    expect(hub.requests).toEqual([]);

    // a damaged mmproj fails verify against the sha256 the hub gave at pull
    writeFileSync(path.join(dir, 'mmproj-LFM2-VL-450M-Q8_0.gguf'), mmproj.subarray(0, 1000));
    const bad = await modelsVerify(c, tmp.dir, ['vision']);
    expect(bad[0]?.ok).toBe(false);
    expect(bad[0]?.problems.join('\n')).toMatch(/mmproj-LFM2-VL-450M-Q8_0\.gguf: sha256 \w+ does not match the hub's sha256 recorded at pull/);
  });

  it('refuses a file whose bytes do not match the hub ETag, resumes a cut transfer, and names a 404', async () => {
    const dir = path.join(tmp.dir, 'faults');
    hub.put('bad/mirror', 'm.gguf', { body: gguf, lfs: true, etag: 'cd'.repeat(32) });
    const c1 = configFromObject({ models_dir: dir, models: { tiny: { backend: 'llama', gguf_repo_id: 'bad/mirror', gguf_file: 'm.gguf' } } }, 'test');
    const r1 = await modelsPull({ config: c1, baseDir: tmp.dir, target: 'tiny', out: silentOut() });
    expect(r1.failed[0]?.error).toMatch(/sha256 mismatch \(expected (cd){32}/);
    expect(existsSync(path.join(dir, 'm.gguf'))).toBe(false);

    hub.put('cut/repo', 'c.gguf', { body: gguf, lfs: true, cutAfter: 100_000 });
    const c2 = configFromObject({ models_dir: dir, models: { tiny: { backend: 'llama', gguf_repo_id: 'cut/repo', gguf_file: 'c.gguf' } } }, 'test');
    const first = await modelsPull({ config: c2, baseDir: tmp.dir, target: 'tiny', out: silentOut() });
    expect(first.failed[0]?.error).toMatch(/run the pull again to resume/);
    const part = statSync(path.join(dir, 'c.gguf.part')).size;
    hub.requests.length = 0;
    const second = await modelsPull({ config: c2, baseDir: tmp.dir, target: 'tiny', out: silentOut() });
    expect(second.failed).toEqual([]);
    expect(hub.requests.find((q) => q.method === 'GET')?.range).toBe(`bytes=${part}-`);
    expect(sha256(readFileSync(path.join(dir, 'c.gguf')))).toBe(sha256(gguf));

    hub.put('size/lie', 's.gguf', { body: gguf, lfs: true, linkedSize: gguf.length + 1 });
    const c4 = configFromObject({ models_dir: dir, models: { tiny: { backend: 'llama', gguf_repo_id: 'size/lie', gguf_file: 's.gguf' } } }, 'test');
    const r4 = await modelsPull({ config: c4, baseDir: tmp.dir, target: 'tiny', out: silentOut() });
    expect(r4.failed[0]?.error).toBe(`s.gguf: got ${gguf.length} bytes, the hub says ${gguf.length + 1}; the file was discarded`);
    expect(existsSync(path.join(dir, 's.gguf'))).toBe(false);

    const c3 = configFromObject({ models_dir: dir, models: { tiny: { backend: 'llama', gguf_repo_id: 'no/such', gguf_file: 'x.gguf' } } }, 'test');
    const r3 = await modelsPull({ config: c3, baseDir: tmp.dir, target: 'tiny', out: silentOut() });
    expect(r3.failed[0]?.error).toMatch(/no\/such\/resolve\/main\/x\.gguf: not found on the hub \(HTTP 404\)/);
  });
});

describe('the CLI as a user runs it', () => {
  it('models list / pull --all / verify on a config file, HF_ENDPOINT from the environment', async () => {
    const dir = path.join(tmp.dir, 'cli');
    mkdirSync(dir, { recursive: true });
    const cfg = path.join(dir, 'sarai.yaml');
    writeFileSync(
      cfg,
      [
        'models_dir: models',
        'models:',
        '  vision: { backend: llama, gguf_repo_id: LiquidAI/LFM2-VL-450M-GGUF, gguf_file: LFM2-VL-450M-Q8_0.gguf, mmproj_file: mmproj-LFM2-VL-450M-Q8_0.gguf }',
        '  tts: { backend: transformers, model: Xenova/mms-tts-eng, task: text-to-speech }',
        '',
      ].join('\n'),
    );
    const before = await runCli(cfg, ['models', 'list']);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/\ntts\s+transformers\s+\S+mms-tts-eng\s+-\s+no\s/);
    const pull = await runCli(cfg, ['models', 'pull', '--all']); // HF_ENDPOINT is inherited: the stand-in
    expect(pull.stderr).not.toMatch(/sarai models pull:/);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(`mmproj-LFM2-VL-450M-Q8_0.gguf: ${mmproj.length} bytes, sha256 ${sha256(mmproj)} (matches the hub's sha256)`);
    const verify = await runCli(cfg, ['models', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^vision: ok .*2 file\(s\) sha256-checked$/m);
    expect(verify.stdout).toMatch(/^tts: ok .*no sha256 known for 3 file\(s\)/m);
  }, 240_000);
});

describe('first start', () => {
  it('with no route to the hub says once which files to place where, and returns the roles still missing', async () => {
    const port = await freePort(); // nothing listens there
    process.env['HF_ENDPOINT'] = `http://127.0.0.1:${port}`;
    try {
      const sink = new LogSink();
      const dir = path.join(tmp.dir, 'offline');
      const missing = await pullMissingModels(lineup(dir, { runtime: { allow_downloads: true } }), tmp.dir, createLogger('info', sink));
      expect(missing.sort()).toEqual(['tts', 'vision']);
      const said = sink.lines.filter((l) => String(l['msg']).startsWith('no route to the model hub'));
      expect(said).toHaveLength(1);
      const msg = String(said[0]?.['msg']);
      for (const f of ['LFM2-VL-450M-Q8_0.gguf', 'mmproj-LFM2-VL-450M-Q8_0.gguf', 'onnx/model_quantized.onnx']) expect(msg).toContain(f);
      expect(msg).toContain(`place mmproj-LFM2-VL-450M-Q8_0.gguf at ${path.join(dir, 'mmproj-LFM2-VL-450M-Q8_0.gguf')}`);
      expect(sink.lines.filter((l) => l['level'] === said[0]?.['level'])).toHaveLength(1); // one error, not one per file
    } finally {
      process.env['HF_ENDPOINT'] = hub.url;
    }
  });

  it('the bridge state carries one "no models yet" item until a role has its files', async () => {
    const dir = path.join(tmp.dir, 'notice');
    const c = lineup(dir, { runtime: { allow_downloads: false } });
    const m = new ModelManager({ config: c, baseDir: tmp.dir, log: silentLog });
    await m.start();
    try {
      expect(m.downloadState().models_notice).toBe('no models yet: run `sarai models pull --all` or enable downloads (runtime.allow_downloads: true)');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'LFM2-VL-450M-Q8_0.gguf'), gguf);
      expect(m.downloadState().models_notice).toBeDefined(); // the mmproj is still missing
      writeFileSync(path.join(dir, 'mmproj-LFM2-VL-450M-Q8_0.gguf'), mmproj);
      expect(m.downloadState()).toEqual({});
    } finally {
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plans only in-process roles, and a transformers role complete in another ONNX variant needs nothing', async () => {
    const dir = path.join(tmp.dir, 'variant');
    await makeTinyTts(path.join(dir, 'Xenova', 'mms-tts-eng')); // onnx/model.onnx (fp32), not the manifest's _quantized
    const plans = pullPlan(lineup(dir), tmp.dir, loadManifest());
    expect(plans.map((p) => p.role)).toEqual(['vision', 'tts']);
    expect(plans.find((p) => p.role === 'tts')?.present).toBe(true);
  });
});

function silentOut() {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
