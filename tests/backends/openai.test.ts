import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, InputError, TimeoutError } from '../../src/core/errors.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { dataUri, image, openaiBackend } from './remote-helpers.js';

type Parts = { type: string; text?: string; image_url?: { url: string }; input_audio?: { data: string; format: string } }[];

let server: OpenAIServer;
beforeAll(async () => {
  server = await OpenAIServer.start();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.reply = 'A person is standing at the front door.';
});

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
const lastUserContent = (): Parts => {
  const body = server.chatBodies().at(-1) as { messages: { role: string; content: Parts }[] };
  return body.messages.at(-1)?.content as Parts;
};

describe('openai backend against an OpenAI-compatible server', () => {
  it('start() probes GET /v1/models, then answers a plain chat completion', async () => {
    const b = openaiBackend('omni', server.url, { max_tokens: 64, temperature: 0.1 });
    await b.start();
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/models' });
    const r = await b.generate(ask('what is at the door?'));
    expect(r.text).toBe('A person is standing at the front door.');
    expect(r.model).toBe('Qwen2.5-Omni-7B');
    expect(r.tokens).toBe(8);
    expect(server.chatBodies().at(-1)).toEqual({
      model: 'Qwen2.5-Omni-7B',
      messages: [{ role: 'user', content: 'what is at the door?' }],
      max_tokens: 64,
      temperature: 0.1,
      stream: false,
    });
    await b.dispose();
  });

  it('sends several images as image_url data URIs with their own MIME types, text last', async () => {
    const b = openaiBackend('omni', server.url);
    const jpeg = await image('jpeg');
    const png = await image('png');
    const webp = await image('webp');
    await b.generate({ ...ask('describe these frames'), images: [jpeg, png, webp] });
    const parts = lastUserContent();
    expect(parts.map((p) => p.type)).toEqual(['image_url', 'image_url', 'image_url', 'text']);
    const uris = parts.slice(0, 3).map((p) => dataUri(p.image_url?.url ?? ''));
    expect(uris.map((u) => u.mime)).toEqual(['image/jpeg', 'image/png', 'image/webp']);
    expect(uris[0]?.bytes.equals(jpeg)).toBe(true);
    expect(uris[1]?.bytes.equals(png)).toBe(true);
    expect(parts[3]).toEqual({ type: 'text', text: 'describe these frames' });
    await b.dispose();
  });

  it('scales an image larger than image_size down to a JPEG before sending', async () => {
    const b = openaiBackend('omni', server.url, { image_size: 128 });
    await b.generate({ ...ask('describe'), images: [await image('png', 1024, 512)] });
    const sent = dataUri(lastUserContent()[0]?.image_url?.url ?? '');
    expect(sent.mime).toBe('image/jpeg');
    const meta = await sharp(sent.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([128, 64]);
    await b.dispose();
  });

  it('sends audio as input_audio with format wav (16 kHz mono PCM16)', async () => {
    const b = openaiBackend('omni', server.url);
    const samples = Float32Array.from({ length: 1600 }, (_, i) => Math.sin(i / 5) * 0.5);
    await b.generate({ ...ask('what do you hear?'), audio: { sampleRate: 16_000, samples } });
    const audio = lastUserContent().find((p) => p.type === 'input_audio')?.input_audio;
    expect(audio?.format).toBe('wav');
    const wav = Buffer.from(audio?.data ?? '', 'base64');
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
    expect(wav.toString('latin1', 8, 12)).toBe('WAVE');
    expect(wav.readUInt32LE(24)).toBe(16_000);
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.length).toBe(44 + 1600 * 2);
    await b.dispose();
  });

  it('transcribe() asks an omni model to transcribe the audio', async () => {
    const b = openaiBackend('omni', server.url);
    server.reply = ' turn on the kitchen lights ';
    const r = await b.transcribe({ sampleRate: 16_000, samples: new Float32Array(800) });
    expect(r.text).toBe('turn on the kitchen lights');
    expect(lastUserContent().map((p) => p.type)).toEqual(['input_audio', 'text']);
    await b.dispose();
  });

  it('puts a JSON schema in response_format and returns the parsed answer', async () => {
    const b = openaiBackend('omni', server.url);
    const schema = { type: 'object', properties: { summary: { type: 'string' }, alert: { type: 'boolean' } }, required: ['summary', 'alert'] };
    server.reply = '{"summary":"a person at the door","alert":true}';
    const r = await b.generate({ ...ask('describe'), jsonSchema: schema });
    expect(server.chatBodies().at(-1)?.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } });
    expect(r.json).toEqual({ summary: 'a person at the door', alert: true });

    server.reply = '{"summary": 42}';
    await expect(b.generate({ ...ask('describe'), jsonSchema: schema })).rejects.toThrow(/did not match the JSON schema: .*alert/);
    server.reply = 'Sure! Here is the JSON you asked for';
    await expect(b.generate({ ...ask('describe'), jsonSchema: schema })).rejects.toThrow(/not valid JSON/);
    await b.dispose();
  });

  it('streams over SSE: tokens arrive in order and join to the answer', async () => {
    const b = openaiBackend('omni', server.url);
    const tokens: string[] = [];
    const r = await b.generate({ ...ask('hi'), onToken: (t) => tokens.push(t) });
    expect(server.chatBodies().at(-1)?.stream).toBe(true);
    expect(server.peer.to('/v1/chat/completions').at(-1)?.headers.accept).toBe('text/event-stream');
    expect(tokens.length).toBe(8);
    expect(tokens.join('')).toBe(r.text);
    expect(r.text).toBe('A person is standing at the front door.');
    await b.dispose();
  });

  it('sends api_key as a bearer token', async () => {
    const locked = await OpenAIServer.start({ apiKey: 'sk-local-123' });
    try {
      const good = openaiBackend('omni', locked.url, { api_key: 'sk-local-123' });
      await expect(good.generate(ask('hi'))).resolves.toMatchObject({ text: expect.any(String) as string });
      expect(locked.requests.at(-1)?.headers.authorization).toBe('Bearer sk-local-123');
      const bad = openaiBackend('omni', locked.url, { api_key: 'wrong' });
      await expect(bad.generate(ask('hi'))).rejects.toThrow(/401.*Incorrect API key.*api_key/);
    } finally {
      await locked.close();
    }
  });

  describe('bad answers become clear errors, and the next request still works', () => {
    const cases: { name: string; script: Parameters<OpenAIServer['next']>[0]; stream?: boolean; error: RegExp; type: new (message?: string) => Error }[] = [
      { name: 'an OpenAI error body (500)', script: { kind: 'error', status: 500, message: 'failed to load mmproj', type: 'server_error' }, error: /500.*failed to load mmproj \(server_error\)/, type: BackendError },
      { name: 'an HTML page (502 from a proxy)', script: { kind: 'html', status: 502 }, error: /502.*an HTML page \("502 Bad Gateway"\)/, type: BackendError },
      { name: 'a body that is not JSON', script: { kind: 'bad_json' }, error: /not JSON/, type: BackendError },
      { name: 'a 400 about the request (image the model cannot take)', script: { kind: 'error', status: 400, message: 'image input is not supported - hint: pass --mmproj', type: 'invalid_request_error' }, error: /400.*image input is not supported/, type: InputError },
      { name: 'a stream that stops midway', script: { kind: 'cut', after: 3 }, stream: true, error: /stream stopped midway \(after 4 chunks/, type: BackendError },
      { name: 'a stream whose connection dies', script: { kind: 'reset', after: 2 }, stream: true, error: /stream broke after \d chunks|stopped midway/, type: BackendError },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const b = openaiBackend('omni', server.url);
        server.next(c.script);
        const req = { ...ask('hi'), ...(c.stream ? { onToken: () => undefined } : {}) };
        const err = await b.generate(req).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(c.type);
        expect((err as Error).message).toMatch(c.error);
        expect((err as Error).message).toMatch(/^omni: /);
        await expect(b.generate(req)).resolves.toMatchObject({ text: 'A person is standing at the front door.' });
        await b.dispose();
      });
    }
  });

  it('a slow server runs into timeout_s: TimeoutError, and the caller can abort sooner', async () => {
    const b = openaiBackend('omni', server.url, { timeout_s: 0.2 });
    server.next({ kind: 'slow', ms: 6000 });
    const t0 = Date.now();
    await expect(b.generate(ask('hi'))).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(3000); // 0.2 s, with room for a loaded 2-core box; the answer would take 6 s

    const b2 = openaiBackend('omni', server.url, { timeout_s: 30 });
    server.next({ kind: 'hang' });
    const ac = new AbortController();
    const p = b2.generate({ ...ask('hi'), signal: ac.signal });
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await expect(p).rejects.toThrow('caller gave up');
    await Promise.all([b.dispose(), b2.dispose()]);
  });

  it('refuses input it cannot send, before any request', async () => {
    const b = openaiBackend('omni', server.url);
    const before = server.requests.length;
    await expect(b.generate({ ...ask('describe'), images: [Buffer.from('GIF? no, plain text')] })).rejects.toThrow(InputError);
    await expect(b.generate({ ...ask('describe'), images: [Buffer.alloc(0)] })).rejects.toThrow(/empty/);
    const text = openaiBackend('tiny', server.url);
    await expect(text.generate({ ...ask('describe'), images: [await image('jpeg')] })).rejects.toThrow(/does not take images/);
    expect(server.requests.length).toBe(before);
    await Promise.all([b.dispose(), text.dispose()]);
  });

  it('a server that is not there: start() says it cannot reach it', async () => {
    const gone = await OpenAIServer.start();
    const url = gone.url;
    await gone.close();
    const b = openaiBackend('omni', url);
    await expect(b.start()).rejects.toThrow(/omni: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/);
    expect(b.health()).toMatchObject({ state: 'failed' });
    await b.dispose();
    await expect(b.generate(ask('hi'))).rejects.toThrow(/disposed/);
  });

  it('embeds through POST /v1/embeddings when the role is an embedding model', async () => {
    const b = openaiBackend('embedding', server.url);
    const v = await b.embed(['turn on the lights', 'explain physics']);
    expect(v).toHaveLength(2);
    expect(v[0]).toBeInstanceOf(Float32Array);
    expect(server.requests.at(-1)?.body).toEqual({ model: 'Qwen2.5-Omni-7B', input: ['turn on the lights', 'explain physics'] });
    await b.dispose();
  });
});

