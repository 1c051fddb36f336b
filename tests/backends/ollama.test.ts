import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, InputError, TimeoutError } from '../../src/core/errors.js';
import { OllamaServer } from '../fixtures/ollama-server.js';
import { image, ollamaBackend } from './remote-helpers.js';

let server: OllamaServer;
beforeAll(async () => {
  server = await OllamaServer.start();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.reply = 'A heat pump moves heat instead of making it.';
});

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
const REPLY = 'A heat pump moves heat instead of making it.';

describe('ollama backend against an Ollama server', () => {
  it('start() checks /api/version and /api/tags, then chats without streaming', async () => {
    const b = ollamaBackend('expert', server.url, { keep_alive: '10m', num_ctx: 4096, max_tokens: 200, temperature: 0.3 });
    await b.start();
    expect(server.requests.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/version', 'GET /api/tags']);
    const r = await b.generate({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'how does a heat pump work?' }] });
    expect(r.text).toBe(REPLY);
    expect(r.tokens).toBe(9);
    expect(server.chatBodies().at(-1)).toEqual({
      model: 'solar',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'how does a heat pump work?' },
      ],
      options: { temperature: 0.3, num_predict: 200, num_ctx: 4096 },
      keep_alive: '10m',
      stream: false,
    });
    await b.dispose();
  });

  it('sends images as raw base64 in the last message (bytes, never a file name)', async () => {
    const b = ollamaBackend('vision', server.url, { model: 'llava' });
    const jpeg = await image('jpeg');
    const png = await image('png');
    await b.generate({ ...ask('what is in the garden?'), images: [jpeg, png] });
    const msg = (server.chatBodies().at(-1)?.messages as { content: string; images?: string[] }[]).at(-1);
    expect(msg?.content).toBe('what is in the garden?');
    expect(msg?.images).toEqual([jpeg.toString('base64'), png.toString('base64')]);
    expect(msg?.images?.[0]).not.toMatch(/^data:/);
    await b.dispose();
  });

  it('puts a JSON schema in format and checks the answer against it', async () => {
    const b = ollamaBackend('expert', server.url);
    const schema = { type: 'object', properties: { tier: { enum: ['tiny', 'expert'] } }, required: ['tier'] };
    server.reply = '{"tier":"expert"}';
    const r = await b.generate({ ...ask('classify'), jsonSchema: schema });
    expect(server.chatBodies().at(-1)?.format).toEqual(schema);
    expect(r.json).toEqual({ tier: 'expert' });
    server.reply = '{"tier":"huge"}';
    await expect(b.generate({ ...ask('classify'), jsonSchema: schema })).rejects.toThrow(/did not match the JSON schema: \/tier must be equal to one of the allowed values/);
    await b.dispose();
  });

  it('streams NDJSON: tokens in order, eval_count from the final line', async () => {
    const b = ollamaBackend('expert', server.url);
    const tokens: string[] = [];
    const r = await b.generate({ ...ask('hi'), onToken: (t) => tokens.push(t) });
    expect(server.chatBodies().at(-1)?.stream).toBe(true);
    expect(tokens.join('')).toBe(REPLY);
    expect(tokens.length).toBe(9);
    expect(r.tokens).toBe(9);
    await b.dispose();
  });

  it('embeds with /api/embed', async () => {
    const b = ollamaBackend('embedding', server.url, { model: 'nomic-embed-text', keep_alive: '1h' });
    const v = await b.embed(['turn on the lights', 'turn on the lights please', 'quantum physics']);
    expect(v).toHaveLength(3);
    expect(v[0]).toBeInstanceOf(Float32Array);
    expect(server.requests.at(-1)).toMatchObject({ path: '/api/embed', body: { model: 'nomic-embed-text', input: ['turn on the lights', 'turn on the lights please', 'quantum physics'], keep_alive: '1h' } });
    await b.dispose();
  });

  describe('bad answers become clear errors, and the next request still works', () => {
    const cases: { name: string; script: Parameters<OllamaServer['next']>[0]; stream?: boolean; error: RegExp; type: new (message?: string) => Error }[] = [
      { name: 'an {error} body (500)', script: { kind: 'error', status: 500, message: 'llama runner process has terminated: signal: killed' }, error: /500: llama runner process has terminated/, type: BackendError },
      { name: 'an HTML page (502 from a proxy)', script: { kind: 'html', status: 502 }, error: /502: an HTML page/, type: BackendError },
      { name: 'a 400 about the request', script: { kind: 'error', status: 400, message: 'invalid image input' }, error: /400: invalid image input/, type: InputError },
      { name: 'a stream that stops midway', script: { kind: 'cut', after: 3 }, stream: true, error: /stream stopped midway/, type: BackendError },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const b = ollamaBackend('expert', server.url);
        server.next(c.script);
        const req = { ...ask('hi'), ...(c.stream ? { onToken: () => undefined } : {}) };
        const err = await b.generate(req).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(c.type);
        expect((err as Error).message).toMatch(c.error);
        await expect(b.generate(req)).resolves.toMatchObject({ text: REPLY });
        await b.dispose();
      });
    }
  });

  it('a model that is not pulled: 404 says so', async () => {
    const b = ollamaBackend('expert', server.url, { model: 'mixtral' });
    await expect(b.generate(ask('hi'))).rejects.toThrow(/404: model "mixtral" not found.*is mixtral pulled/);
    await b.dispose();
  });

  it('timeout_s bounds a slow non-streaming answer', async () => {
    const b = ollamaBackend('expert', server.url, { timeout_s: 0.2 });
    server.next({ kind: 'hang' });
    const t0 = Date.now();
    await expect(b.generate(ask('hi'))).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(3000); // 0.2 s, with room for a loaded 2-core box; the server never answers
    await expect(b.generate(ask('hi'))).resolves.toMatchObject({ text: REPLY });
    await b.dispose();
  });

  it('a dead server: cannot reach, audio refused without a request', async () => {
    const gone = await OllamaServer.start();
    const url = gone.url;
    await gone.close();
    const b = ollamaBackend('expert', url);
    await expect(b.start()).rejects.toThrow(/expert: cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    await expect(b.generate({ ...ask('hi'), audio: { sampleRate: 16_000, samples: new Float32Array(10) } })).rejects.toBeInstanceOf(InputError);
    expect(ollamaBackend('omni', url).capabilities.has('audio_in')).toBe(false); // so the router drops audio and says so
    await b.dispose();
  });
});
