import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wavFromPcm16 } from '../../src/media/audio/wav-writer.js';
import { makeTinyAsr, makeTinyCaptioner, type TinyAsr, type TinyCaptioner } from '../fixtures/onnx/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** 16-bit mono WAV of a 440 Hz tone, `seconds` long at `rate` Hz. */
function toneWav(seconds: number, rate = 16_000): Buffer {
  const n = Math.round(seconds * rate);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12_000), i * 2);
  return wavFromPcm16(pcm, rate, 1);
}

describe('try-it API: describe, transcribe, ask (real tiny models) and bad input', () => {
  let tmp: string;
  let app: TestApp;
  let captioner: TinyCaptioner;
  let asr: TinyAsr;
  let base: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sarai-try-'));
    captioner = await makeTinyCaptioner(path.join(tmp, 'captioner'));
    asr = await makeTinyAsr(path.join(tmp, 'asr'), { text: 'open the garage' });
    app = await startTestApp({
      mqtt: { embedded: { port: 0 } },
      models: {
        vision: { backend: 'transformers', model: captioner.dir, image_size: 64 },
        stt: { backend: 'transformers', model: asr.dir },
      },
      runtime: { onnx_threads: 1 },
      voice: { max_utterance_s: 5 },
    });
    base = `http://127.0.0.1:${app.app.ctx.http.port}`;
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const post = (p: string, body: Buffer | string, type = 'application/octet-stream'): Promise<Response> =>
    fetch(`${base}${p}`, { method: 'POST', body, headers: { 'content-type': type } });

  it('describes a PNG with the camera path (real captioner), without adding it to the timeline', async () => {
    const png = await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 200, g: 20, b: 20 } } }).png().toBuffer();
    const r = await post('/api/describe', png, 'image/png');
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ summary: captioner.captionFor([200, 20, 20]), route: 'vision', camera: 'try_it', source: 'api', alert: false });
    expect(typeof body['latency_ms']).toBe('number');
    const events = (await (await fetch(`${base}/api/events?camera=try_it`)).json()) as { events: unknown[] };
    expect(events.events).toEqual([]);
  });

  it('refuses uploads that are not images (415), do not decode (422) or are too large (413)', async () => {
    const text = await post('/api/describe', 'hello, I am text', 'image/jpeg');
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: string }).error).toMatch(/not an image/);
    const exe = await post('/api/describe', Buffer.from('7f454c46020101000000', 'hex'));
    expect(exe.status).toBe(415);
    const cut = (await sharp({ create: { width: 300, height: 200, channels: 3, background: '#123456' } }).png().toBuffer()).subarray(0, 60);
    const truncated = await post('/api/describe', cut, 'image/png');
    expect(truncated.status).toBe(422);
    expect(((await truncated.json()) as { error: string }).error).toMatch(/PNG/);
    const big = Buffer.alloc(11 * 1_048_576, 0);
    big[0] = 0xff; big[1] = 0xd8; big[2] = 0xff;
    const tooBig = await post('/api/describe', big, 'image/jpeg');
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: string }).error).toMatch(/exceeds the limit/);
  });

  it('transcribes a WAV (44.1 kHz stereo is converted to 16 kHz mono) with the real tiny ASR', async () => {
    const n = 44_100;
    const pcm = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) {
      const v = Math.round(Math.sin((2 * Math.PI * 300 * i) / 44_100) * 10_000);
      pcm.writeInt16LE(v, i * 4);
      pcm.writeInt16LE(v, i * 4 + 2);
    }
    const r = await post('/api/transcribe', wavFromPcm16(pcm, 44_100, 2), 'audio/wav');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ text: asr.text, route: 'stt', duration_s: 1 });
  });

  it('refuses non-WAV (415), lying WAV headers (415) and recordings over voice.max_utterance_s (413)', async () => {
    const mp3ish = await post('/api/transcribe', Buffer.from('ID3\u0003\u0000\u0000garbage'), 'audio/wav');
    expect(mp3ish.status).toBe(415);
    expect(((await mp3ish.json()) as { error: string }).error).toMatch(/not a WAV/);
    const liar = toneWav(0.5);
    liar.writeUInt32LE(10_000_000, 40); // data chunk claims far more than the file holds
    expect((await post('/api/transcribe', liar, 'audio/wav')).status).toBe(415);
    const long = await post('/api/transcribe', toneWav(6), 'audio/wav');
    expect(long.status).toBe(413);
    expect(((await long.json()) as { error: string }).error).toMatch(/limit is 5 s/);
  });

  it('ask: bad JSON, empty or oversized text are 400/413; no text model configured is a clear 502', async () => {
    expect((await post('/api/ask', '{"text":', 'application/json')).status).toBe(400);
    expect((await post('/api/ask', JSON.stringify({ text: '   ' }), 'application/json')).status).toBe(400);
    expect((await post('/api/ask', JSON.stringify({ text: 42 }), 'application/json')).status).toBe(400);
    expect((await post('/api/ask', JSON.stringify({ text: 'x'.repeat(5000) }), 'application/json')).status).toBe(413);
    const r = await post('/api/ask', JSON.stringify({ text: 'What is the weather like?' }), 'application/json');
    expect(r.status).toBe(502);
    expect(((await r.json()) as { error: string }).error.length).toBeGreaterThan(10);
  });

  it('refuses the content types a cross-site form can send without a preflight (no CSRF into the models)', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      for (const p of ['/api/ask', '/api/describe', '/api/transcribe']) {
        const r = await post(p, JSON.stringify({ text: 'hi' }), type);
        expect(r.status, `${p} ${type}`).toBe(415);
      }
    }
  });

  it('the try-it routes only take POST', async () => {
    expect((await fetch(`${base}/api/describe`)).status).toBe(405);
  });

  it('POST /api/digest returns the digest JSON; a date that does not exist is a 400, a form post a 415', async () => {
    const digest = (body: string, type = 'application/json') => post('/api/digest', body, type);
    const ok = await digest('{"period":"yesterday","camera":"porch"}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ period: 'yesterday', camera: 'porch', text: 'No events from porch yesterday.', totals: { events: 0 } });
    const bad = await digest('{"period":"2026-02-30"}');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('digest: 2026-02-30 is not a date');
    expect((await digest('period=today', 'application/x-www-form-urlencoded')).status).toBe(415);
  });
});
