import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { HaServer } from '../fixtures/ha-server.js';
import { makeTinyAsr } from '../fixtures/onnx/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';
import { RawWyomingClient } from '../wyoming/raw-client.js';
import { claimedDurationS, espeakWav, ffprobe } from './helpers.js';

const ready = haveMosquitto() && requireProgram('espeak-ng') && requireProgram('ffprobe');

/** A stand-in Supervisor: records POST /discovery like the real one answers it. */
async function fakeSupervisor(): Promise<{ url: string; posts: { auth: string; body: unknown }[]; posted(n: number): Promise<void>; close(): Promise<void> }> {
  const posts: { auth: string; body: unknown }[] = [];
  let waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/discovery') {
        posts.push({ auth: req.headers.authorization ?? '', body: JSON.parse(body) as unknown });
        for (const w of waiters) w();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ result: 'ok', data: { uuid: `uuid-${posts.length}` } }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const posted = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${posts.length} discovery posts`)), 5_000);
      const check = () => {
        if (posts.length < n) return;
        clearTimeout(timer);
        waiters = waiters.filter((w) => w !== check);
        resolve();
      };
      waiters.push(check);
      check();
    });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posts, posted, close: () => new Promise((r) => server.close(() => r())) };
}

describe.skipIf(!ready)('the whole bridge: voice feature on the real router (tiny GGUF answer, tiny ONNX ASR, espeak-ng TTS) and its Wyoming servers', () => {
  let mosq: Mosquitto;
  let t: TestApp;
  let probe: MqttProbe;
  let models: { dir: string; cleanup: () => void };
  let supervisor: Awaited<ReturnType<typeof fakeSupervisor>>;
  let ha: HaServer;
  let asrText = '';
  const env = { token: process.env['SUPERVISOR_TOKEN'], url: process.env['SUPERVISOR_URL'] };
  const port = (module: string) => Number(t.logs.lines.find((l) => l['module'] === module && l['msg'] === 'Wyoming server listening')?.['port']);

  beforeAll(async () => {
    mosq = await startMosquitto();
    models = tempModelDir('sarai-voice-app-');
    tinyLlamaFile(path.join(models.dir, 'tiny.gguf'));
    asrText = (await makeTinyAsr(path.join(models.dir, 'asr'))).text;
    supervisor = await fakeSupervisor();
    ha = new HaServer({ token: 'ha-token' });
    await ha.start();
    process.env['SUPERVISOR_TOKEN'] = 'test-supervisor-token';
    process.env['SUPERVISOR_URL'] = supervisor.url;
    t = await startTestApp({
      mqtt: { url: mosq.url },
      models_dir: models.dir,
      models: {
        stt: { backend: 'transformers', model: path.join(models.dir, 'asr') },
        tiny: { backend: 'llama', gguf_file: 'tiny.gguf', max_tokens: 4, context_length: 1024 },
        tts: { backend: 'espeak', voice: 'en-us' },
      },
      runtime: { threads: 1, onnx_threads: 1 },
      satellites: { kitchen: { name: 'Kitchen', media_player: 'media_player.kitchen' } },
      homeassistant: { url: ha.url, token: 'ha-token' },
      http: { host: '127.0.0.1', port: 0, public_url: 'http://sarai.local:8099' },
      wyoming: { enabled: true, host: '127.0.0.1', asr_port: 0, tts_port: 0, handle_port: 0, announce_host: 'sarai-addon' },
    });
    probe = await MqttProbe.connect(mosq.url, ['sarai/#']);
  });
  afterAll(async () => {
    await probe?.close();
    await t?.stop();
    await supervisor?.close();
    await ha?.stop();
    await mosq?.stop();
    models?.cleanup();
    for (const [k, v] of [['SUPERVISOR_TOKEN', env.token], ['SUPERVISOR_URL', env.url]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('a WAV on sarai/voice/kitchen/audio is answered through the router: transcript, tiny answer, spoken WAV, played on the media player', async () => {
    await probe.publish('sarai/voice/kitchen/audio', espeakWav('turn on the lights'));
    const transcript = await probe.waitForTopic('sarai/voice/kitchen/transcript', 30_000);
    expect(transcript.payload.toString()).toBe(asrText);
    const response = JSON.parse((await probe.waitForTopic('sarai/voice/kitchen/response', 30_000)).payload.toString()) as Record<string, unknown>;
    expect(response).toMatchObject({ satellite: 'kitchen', transcript: asrText, route: 'tiny' });
    expect(response['error']).toBeUndefined();
    expect(String(response['text']).length).toBeGreaterThan(0);
    // the satellite's media player is told to play the TTS URL, over HA's websocket
    const url = String(response['tts_url']);
    expect(url).toMatch(/^http:\/\/sarai\.local:8099\/media\/tts\/[A-Za-z0-9_-]{32}\.wav$/);
    await ha.waitUntil(() => ha.serviceCalls.some((c) => c.service === 'play_media'), 10_000, 'play_media');
    expect(ha.serviceCalls.find((c) => c.service === 'play_media')).toEqual({
      domain: 'media_player',
      service: 'play_media',
      service_data: { media_content_id: url, media_content_type: 'music' },
      target: { entity_id: 'media_player.kitchen' },
    });
    const tts = await probe.waitForTopic('sarai/voice/kitchen/tts');
    const p = ffprobe(tts.payload);
    expect(p).toMatchObject({ codec: 'pcm_s16le', bitsPerSample: 16 });
    expect(p.durationS).toBeCloseTo(claimedDurationS(tts.payload), 2);
  });

  it('announces the three Wyoming servers (speech-to-text, text-to-speech, conversation) to the Supervisor with its token', async () => {
    await supervisor.posted(3); // fire-and-forget at start
    expect(supervisor.posts).toHaveLength(3);
    expect(supervisor.posts.map((p) => p.auth)).toEqual(Array(3).fill('Bearer test-supervisor-token'));
    expect(supervisor.posts.map((p) => p.body)).toEqual(
      expect.arrayContaining([
        { service: 'wyoming', config: { uri: `tcp://sarai-addon:${port('wyoming-asr')}` } },
        { service: 'wyoming', config: { uri: `tcp://sarai-addon:${port('wyoming-tts')}` } },
        { service: 'wyoming', config: { uri: `tcp://sarai-addon:${port('wyoming-handle')}` } },
      ]),
    );
  });

  it('Assist conversation agent over Wyoming: a transcript is answered by the tiny model through the ask path; a language not configured is not-handled and reaches sarai/error', async () => {
    const c = await RawWyomingClient.connect(port('wyoming-handle'));
    c.send('describe');
    expect(((await c.waitFor('info')).data['handle'] as Record<string, unknown>[])[0]).toMatchObject({ name: 'SARAi', installed: true });
    c.send('transcript', { text: 'did anyone come to the door today?', language: 'en', context: { conversation_id: 'conv-1' } });
    const handled = await c.waitForAny(['handled', 'not-handled'], 30_000);
    expect(handled.type).toBe('handled');
    expect(String(handled.data['text']).length).toBeGreaterThan(0);
    expect(handled.data['context']).toEqual({ conversation_id: 'conv-1' });
    c.close();

    const de = await RawWyomingClient.connect(port('wyoming-handle'));
    de.send('transcript', { text: 'ist jemand an der Tür?', language: 'de' });
    expect((await de.waitFor('not-handled')).data['text']).toBe('language "de" is not configured (wyoming.languages: en)');
    const report = await probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes('is not configured (wyoming.languages'));
    expect(JSON.parse(report.payload.toString())).toMatchObject({ source: 'wyoming', topic: 'wyoming/handle' });
    de.close();
  });

  it('the digest feature is wired in the bridge: sarai/digest/request on an empty timeline -> a plain digest on sarai/digest', async () => {
    const got = probe.waitFor((m) => m.topic === 'sarai/digest' && m.payload.toString().includes('"id":"app-digest"'), 30_000);
    await probe.publish('sarai/digest/request', '{"period":"last_24h","id":"app-digest"}');
    expect(JSON.parse((await got).payload.toString())).toMatchObject({ text: 'No camera events in the last 24 hours.', text_source: 'counts', totals: { events: 0 } });
  });

  it('Home Assistant Assist over Wyoming: transcribe and synthesize through the router; bad headers reach sarai/error', async () => {
    const speech = espeakWav('what is the weather');
    const c = await RawWyomingClient.connect(port('wyoming-asr'));
    c.send('transcribe', { language: 'en' });
    c.send('audio-start', { rate: 22050, width: 2, channels: 1 });
    c.send('audio-chunk', { rate: 22050, width: 2, channels: 1 }, speech.subarray(44, speech.length - (speech.length % 2)));
    c.send('audio-stop');
    expect((await c.waitFor('transcript', 30_000)).data['text']).toBe(asrText);
    c.close();

    const s = await RawWyomingClient.connect(port('wyoming-tts'));
    s.send('synthesize', { text: 'It is sunny.' });
    await s.waitFor('audio-stop', 30_000);
    expect(s.events.filter((e) => e.type === 'audio-chunk').length).toBeGreaterThan(3);
    s.close();

    const bad = await RawWyomingClient.connect(port('wyoming-tts'));
    bad.sendRaw('{"type":"audio-chunk","payload_length":2147483648}\n');
    expect((await bad.waitFor('error')).data['code']).toBe('protocol');
    const report = await probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes('2147483648'));
    expect(JSON.parse(report.payload.toString())).toMatchObject({ source: 'wyoming', topic: 'wyoming/tts' });
  });
});
