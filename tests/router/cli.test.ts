import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { askCommand, describeCommand } from '../../src/router/cli-commands.js';
import { tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { makeTinyCaptioner } from '../fixtures/onnx/index.js';
import { OllamaServer } from '../fixtures/ollama-server.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { captureOutput, runCli, type CliOutput } from '../helpers/cli.js';

let dir: string;
let image: string;
let omni: OpenAIServer;
let ollama: OllamaServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sarai-cli-'));
  image = path.join(dir, 'door.jpg');
  await writeFile(image, await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 90, b: 200 } } }).jpeg().toBuffer());
  tinyLlamaFile(path.join(dir, 'tiny.gguf'));
  // a vision model that follows the camera JSON schema, as the camera path asks
  omni = await OpenAIServer.start({ reply: JSON.stringify({ summary: 'omni: a blue door', description: 'A blue door.', objects: ['door'], alert: false, severity: 'none' }) });
  ollama = await OllamaServer.start({ reply: 'ollama: a blue door' });
});
afterAll(async () => {
  await Promise.all([omni.close(), ollama.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function sarai(models: Record<string, unknown>, args: string[]): Promise<CliOutput> {
  const config = path.join(dir, `sarai-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(config, JSON.stringify({ models_dir: dir, runtime: { threads: 1, onnx_threads: 1 }, log: { level: 'warn' }, models }));
  return runCli(config, args);
}

/** The command functions in-process (the machine is shared: one real CLI spawn is enough). */
async function inProcess(models: Record<string, unknown>, fn: (loaded: Parameters<typeof askCommand>[0]) => Promise<{ code: number }>, extra: Record<string, unknown> = {}): Promise<CliOutput> {
  const loaded = { config: configFromObject({ models_dir: dir, runtime: { threads: 1, onnx_threads: 1 }, log: { level: 'warn' }, models, ...extra }, 'test'), source: 'test', baseDir: dir };
  return captureOutput(() => fn(loaded));
}

describe('sarai describe / sarai ask go through the router', () => {
  it('the real CLI: describe <image> on an openai omni server prints the answer and the route', { timeout: 120_000 }, async () => {
    const r = await sarai({ omni: { backend: 'openai', url: omni.url, model: 'Qwen2.5-Omni-7B' } }, ['describe', image, '--json', '-p', 'who is there?']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ text: 'omni: a blue door', route: 'omni', reason: 'image input -> omni' });
    const sent = omni.chatBodies().at(-1) as { messages: { content: { type: string; text?: string }[] }[] };
    expect(sent.messages[0]?.content.map((p) => p.type)).toEqual(['image_url', 'text']);
  });

  it('describe <image> on an ollama vision model', async () => {
    const llava = await OllamaServer.start({ reply: JSON.stringify({ summary: 'ollama: a blue door', description: 'A blue door.', objects: [], alert: false, severity: 'none' }) });
    const r = await inProcess({ vision: { backend: 'ollama', url: llava.url, model: 'llava' } }, (l) => describeCommand(l, image, {})).finally(() => llava.close());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ollama: a blue door\nobjects: none\nalert: no (severity none, other)\n');
    expect(r.stderr).toMatch(/route: vision \(llava\), \d+ ms; image input; omni not configured -> vision/);
  });

  it('describe gives the camera path\'s result: the camera JSON schema, and --camera applies that camera\'s prompt and rules', async () => {
    const answer = { summary: 'A dog sits on the porch', description: 'A brown dog lies by the door.', objects: ['dog'], alert: false, severity: 'none' };
    const server = await OpenAIServer.start({ reply: JSON.stringify(answer) });
    try {
      const models = { omni: { backend: 'openai', url: server.url, model: 'Qwen2.5-Omni-7B' } };
      const cameras = { backyard: { prompt: 'Watch the backyard for animals.', alert_labels: ['animal'] } };
      const plain = await inProcess(models, (l) => describeCommand(l, image, { json: true }), { cameras });
      expect(plain.code).toBe(0);
      // camera_defaults: alert_labels [person], so a dog is no alert
      expect(JSON.parse(plain.stdout)).toMatchObject({ camera: null, summary: 'A dog sits on the porch', objects: ['dog'], alert: false, severity: 'none', event_type: 'animal', route: 'omni' });
      const body = JSON.stringify(server.chatBodies().at(-1));
      expect(body).toContain('Answer as JSON with summary');
      expect(body).toContain('summary'); // the camera JSON schema went with the request
      const cam = await inProcess(models, (l) => describeCommand(l, image, { camera: 'backyard' }), { cameras });
      expect(cam.code).toBe(0);
      // the backyard's rules watch animals: the same answer is an alert there
      expect(cam.stdout).toBe('A dog sits on the porch\nobjects: dog\nalert: yes (severity low, animal)\n');
      expect(JSON.stringify(server.chatBodies().at(-1))).toContain('Watch the backyard for animals.');
    } finally {
      await server.close();
    }
  });

  it('describe --camera with a camera that is not configured, or a file that is not an image: a clear error, exit 2, no model call', async () => {
    const server = await OpenAIServer.start({ reply: 'unused' });
    try {
      const models = { omni: { backend: 'openai', url: server.url, model: 'm' } };
      const r = await inProcess(models, (l) => describeCommand(l, image, { camera: 'garage/../x' }), { cameras: { backyard: {} } });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('sarai describe: camera "garage/../x" is not configured (configured: backyard)\n');
      const none = await inProcess(models, (l) => describeCommand(l, image, { camera: 'garage' }));
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/camera "garage" is not configured \(no cameras under cameras:\)/);
      const text = path.join(dir, 'notes.jpg');
      await writeFile(text, 'not a picture at all');
      const bad = await inProcess(models, (l) => describeCommand(l, text, {}));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/cannot read .*notes\.jpg: payload is not an image/);
      expect(server.chatBodies()).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('describe <image> on the in-process transformers.js captioner (tiny ONNX)', async () => {
    const cap = await makeTinyCaptioner(path.join(dir, 'captioner'));
    const r = await inProcess({ vision: { backend: 'transformers', model: cap.dir, task: 'image-to-text', max_tokens: 8 } }, (l) => describeCommand(l, image, { json: true }));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { route: string; reason: string; text: string };
    expect(out.route).toBe('vision');
    // a captioner cannot follow a schema: its caption becomes the summary
    expect(out.reason).toBe('image input; omni not configured -> vision; plain text (vision has no JSON schema output)');
    expect(out.text.length).toBeGreaterThan(0);
  });

  it('ask on the in-process llama tiny model (a tiny GGUF)', { timeout: 60_000 }, async () => {
    const r = await inProcess({ tiny: { backend: 'llama', gguf_file: 'tiny.gguf', max_tokens: 4, context_length: 1024 } }, (l) => askCommand(l, 'turn on the lights', { json: true }));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { route: string; reason: string; text: string };
    expect(out.route).toBe('tiny');
    expect(out.reason).toBe('text (no expert role) -> tiny');
    expect(typeof out.text).toBe('string');
  });

  it('ask --role expert on ollama; a bad image or a missing model is a clear error and exit 1/2', async () => {
    const models = { tiny: { backend: 'llama', gguf_file: 'missing.gguf' }, expert: { backend: 'ollama', url: ollama.url, model: 'solar' } };
    const r = await inProcess(models, (l) => askCommand(l, 'explain heat pumps', { role: 'expert' }));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ollama: a blue door\n');
    const none = await inProcess(models, (l) => describeCommand(l, image, {}));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/NoCapableBackendError: describe: no configured, healthy backend can take image input: omni not configured; vision not configured/);
    const missing = await inProcess(models, (l) => describeCommand(l, path.join(dir, 'nope.jpg'), {}));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.jpg/);
  });
});
