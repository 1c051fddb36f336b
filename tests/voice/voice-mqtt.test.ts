import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VoiceResponse } from '../../src/core/results.js';
import { encodePcm16, readWav } from '../../src/media/audio/index.js';
import { MAX_OPEN_STREAMS } from '../../src/sources/voice/audio-source.js';
import { VoiceService } from '../../src/voice/service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';
import { BackendVoiceRouter, claimedDurationS, espeakWav, ffprobe, speechBackends } from './helpers.js';

const ready = haveMosquitto() && requireProgram('espeak-ng') && requireProgram('ffprobe');

const json = (m: Received) => JSON.parse(m.payload.toString()) as Record<string, unknown>;

/** espeak-ng speech as raw 16-bit PCM plus its format. */
function speechPcm(text: string): { pcm: Buffer; rate: number } {
  const w = readWav(espeakWav(text));
  return { pcm: encodePcm16(w.samples), rate: w.format.rate };
}

describe.skipIf(!ready)('voice over MQTT through real mosquitto (tiny ONNX ASR, espeak-ng TTS)', () => {
  let mosq: Mosquitto;
  let t: TestApp;
  let probe: MqttProbe;
  let dir: string;
  let models: Awaited<ReturnType<typeof speechBackends>>;
  let voice: VoiceService;
  let router: BackendVoiceRouter;
  const played: { entity: string; url: string }[] = [];
  const busEvents: VoiceResponse[] = [];

  beforeAll(async () => {
    mosq = await startMosquitto();
    dir = await mkdtemp(path.join(os.tmpdir(), 'sarai-voice-'));
    models = await speechBackends(dir);
    t = await startTestApp({
      mqtt: { url: mosq.url },
      satellites: { kitchen: { name: 'Kitchen', media_player: 'media_player.kitchen' }, bedroom: { name: 'Bedroom' } },
      voice: { enabled: false, tts_url_ttl_s: 3, stream_timeout_s: 1.5, max_utterance_s: 10 },
    });
    router = new BackendVoiceRouter(models.asr, models.espeak);
    voice = new VoiceService(t.app.ctx, {
      router,
      playMedia: async (entity, url) => {
        played.push({ entity, url });
      },
    });
    t.app.ctx.bus.on('voice.response', 'test', (r) => {
      busEvents.push(r);
    });
    probe = await MqttProbe.connect(mosq.url, ['sarai/#', 'homeassistant/device/#']);
    await voice.start();
  });
  afterAll(async () => {
    await voice?.stop();
    await probe?.close();
    await t?.stop();
    await models?.dispose();
    await mosq?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => probe.clear());
  const errorFor = (topic: string, re: RegExp) =>
    probe.waitFor((m) => m.topic === 'sarai/error' && json(m)['topic'] === topic && re.test(String(json(m)['error'])), 10_000, `error ${re} on ${topic}`);

  async function expectSpokenAnswer(satellite: string): Promise<Record<string, unknown>> {
    const transcript = await probe.waitForTopic(`sarai/voice/${satellite}/transcript`, 20_000);
    expect(transcript.payload.toString()).toBe(models.asrText);
    const tts = await probe.waitForTopic(`sarai/voice/${satellite}/tts`, 20_000);
    const response = json(await probe.waitForTopic(`sarai/voice/${satellite}/response`, 20_000));
    expect(response).toMatchObject({ satellite, transcript: models.asrText, text: `you said ${models.asrText}`, route: 'tiny', model: 'template' });
    expect(response['error']).toBeUndefined();
    expect(response['latency_ms']).toBeGreaterThan(0);
    // transcript and response are results (QoS 1, queued across a broker restart); the WAV is not
    expect([transcript.qos, tts.qos]).toEqual([1, 0]);
    expect(probe.messages.find((m) => m.topic === `sarai/voice/${satellite}/response`)?.qos).toBe(1);
    // the URL serves exactly the published audio
    const url = String(response['tts_url']);
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${t.app.ctx.http.port}/media/tts/[A-Za-z0-9_-]{32}\\.wav$`));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await res.arrayBuffer()).equals(tts.payload)).toBe(true);
    const p = ffprobe(tts.payload);
    expect(p).toMatchObject({ codec: 'pcm_s16le', bitsPerSample: 16, channels: 1, sampleRate: 22050 });
    expect(p.durationS).toBeCloseTo(claimedDurationS(tts.payload), 2);
    expect(p.durationS).toBeGreaterThan(0.8);
    return response;
  }

  it('publishes one HA device per configured satellite: transcript, response and latency sensors', async () => {
    // retained configs: a fresh subscriber gets them
    const ha = await MqttProbe.connect(mosq.url, ['homeassistant/device/+/config']);
    const cfg = json(await ha.waitForTopic('homeassistant/device/sarai_sarai_satellite_kitchen/config', 10_000));
    await ha.waitForTopic('homeassistant/device/sarai_sarai_satellite_bedroom/config', 10_000);
    await ha.close();
    expect(cfg['dev']).toMatchObject({ name: 'Kitchen (SARAi)', via_device: 'sarai_sarai_bridge' });
    const cmps = cfg['cmps'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(cmps).sort()).toEqual(['latency', 'response', 'transcript']);
    expect(cmps['transcript']).toMatchObject({ p: 'sensor', state_topic: 'sarai/voice/kitchen/transcript', unique_id: 'sarai_sarai_satellite_kitchen_transcript' });
    expect(cmps['latency']).toMatchObject({ unit_of_measurement: 'ms', state_topic: 'sarai/voice/kitchen/response' });
  });

  it('one complete WAV of espeak-ng speech -> transcript, answer, spoken WAV, response, bus event, media player', async () => {
    await probe.publish('sarai/voice/kitchen/audio', espeakWav('what time is it'));
    const response = await expectSpokenAnswer('kitchen');
    expect(busEvents.find((e) => e.id === response['id'])).toBeDefined();
    expect(played).toContainEqual({ entity: 'media_player.kitchen', url: response['tts_url'] });
  });

  it('a stream of start / chunks / stop -> the same answer', async () => {
    const { pcm, rate } = speechPcm('open the garage door');
    await probe.publish('sarai/voice/bedroom/audio/start', JSON.stringify({ rate, width: 2, channels: 1 }));
    for (let off = 0; off < pcm.length; off += 2048) await probe.publish('sarai/voice/bedroom/audio/chunk', pcm.subarray(off, off + 2048));
    await probe.publish('sarai/voice/bedroom/audio/stop', '');
    await expectSpokenAnswer('bedroom');
    expect(played.some((p) => p.url.includes('bedroom'))).toBe(false); // bedroom has no media_player
  });

  it('several satellites at once, streams interleaved with WAVs, each answered on its own topics', async () => {
    const sats = ['kitchen', 'bedroom', 'garage', 'hall'];
    const { pcm, rate } = speechPcm('good night');
    await Promise.all(sats.slice(2).map((s) => probe.publish(`sarai/voice/${s}/audio/start`, JSON.stringify({ rate, width: 2, channels: 1 }))));
    for (let off = 0; off < pcm.length; off += 4096) {
      await Promise.all(sats.slice(2).map((s) => probe.publish(`sarai/voice/${s}/audio/chunk`, pcm.subarray(off, off + 4096))));
    }
    await Promise.all([
      ...sats.slice(0, 2).map((s) => probe.publish(`sarai/voice/${s}/audio`, espeakWav('lights off'))),
      ...sats.slice(2).map((s) => probe.publish(`sarai/voice/${s}/audio/stop`, '')),
    ]);
    const responses = await Promise.all(sats.map((s) => expectSpokenAnswer(s)));
    expect(new Set(responses.map((r) => r['id'])).size).toBe(4);
    expect(new Set(responses.map((r) => r['tts_url'])).size).toBe(4);
  });

  it('a stream with no stop ends after voice.stream_timeout_s and is answered', async () => {
    const { pcm, rate } = speechPcm('hello');
    await probe.publish('sarai/voice/kitchen/audio/start', JSON.stringify({ rate, width: 2, channels: 1 }));
    await probe.publish('sarai/voice/kitchen/audio/chunk', pcm);
    await expectSpokenAnswer('kitchen');
    expect(voice.source.openStreams).toBe(0);
  });

  it('the TTS URL expires after voice.tts_url_ttl_s; unknown tokens are 404', async () => {
    await probe.publish('sarai/voice/kitchen/audio', espeakWav('yes'));
    const response = await expectSpokenAnswer('kitchen');
    const url = String(response['tts_url']);
    const deadline = Date.now() + 8_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200)); // expiry is wall-clock time: poll it
      status = (await fetch(url)).status;
    }
    expect(status).toBe(404);
    const base = `http://127.0.0.1:${t.app.ctx.http.port}/media/tts/`;
    expect((await fetch(`${base}${'A'.repeat(32)}.wav`)).status).toBe(404);
    expect((await fetch(`${base}..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
  });

  it('bad input: each a clear error on sarai/error, never a crash, and the bridge keeps answering', async () => {
    const good = espeakWav('hi');
    const lying = Buffer.from(good);
    lying.writeUInt32LE(12345, 28); // byte rate
    await probe.publish('sarai/voice/kitchen/audio', lying);
    await errorFor('sarai/voice/kitchen/audio', /byte rate 12345/);

    const small = Buffer.from(good.subarray(0, 44 + 2000));
    small.writeUInt32LE(100_000, 40); // a real size, but the file stops early
    await probe.publish('sarai/voice/kitchen/audio', small);
    await errorFor('sarai/voice/kitchen/audio', /truncated/);

    await probe.publish('sarai/voice/kitchen/audio/chunk', Buffer.alloc(320));
    await errorFor('sarai/voice/kitchen/audio/chunk', /without audio\/start/);
    await probe.publish('sarai/voice/kitchen/audio/stop', '');
    await errorFor('sarai/voice/kitchen/audio/stop', /without audio\/start/);

    await probe.publish('sarai/voice/kitchen/audio/start', JSON.stringify({ rate: 0, width: 2, channels: 1 }));
    await errorFor('sarai/voice/kitchen/audio/start', /0 Hz is outside/);
    await probe.publish('sarai/voice/kitchen/audio/start', JSON.stringify({ rate: 1_000_000, width: 2, channels: 1 }));
    await errorFor('sarai/voice/kitchen/audio/start', /1000000 Hz is outside/);
    await probe.publish('sarai/voice/kitchen/audio/start', 'not json');
    await errorFor('sarai/voice/kitchen/audio/start', /must be JSON/);

    await probe.publish('sarai/voice/kitchen/audio/start', JSON.stringify({ rate: 16000, width: 2, channels: 1 }));
    await probe.publish('sarai/voice/kitchen/audio/chunk', Buffer.alloc(0));
    await errorFor('sarai/voice/kitchen/audio/chunk', /empty audio\/chunk/);
    await probe.publish('sarai/voice/kitchen/audio/stop', '');
    await errorFor('sarai/voice/kitchen/audio/stop', /ended with no audio/);

    // a 10-minute utterance: as one WAV (8 kHz 8-bit, 4.8 MB) and as a stream of 1 s chunks
    const tenMin = Buffer.alloc(44 + 8000 * 600, 128);
    tenMin.write('RIFF', 0, 'latin1');
    tenMin.writeUInt32LE(tenMin.length - 8, 4);
    tenMin.write('WAVEfmt ', 8, 'latin1');
    tenMin.writeUInt32LE(16, 16);
    tenMin.writeUInt16LE(1, 20);
    tenMin.writeUInt16LE(1, 22);
    tenMin.writeUInt32LE(8000, 24);
    tenMin.writeUInt32LE(8000, 28);
    tenMin.writeUInt16LE(1, 32);
    tenMin.writeUInt16LE(8, 34);
    tenMin.write('data', 36, 'latin1');
    tenMin.writeUInt32LE(8000 * 600, 40);
    await probe.publish('sarai/voice/kitchen/audio', tenMin);
    await errorFor('sarai/voice/kitchen/audio', /600\.0 s long; the limit is 10 s/);
    await probe.publish('sarai/voice/bedroom/audio/start', JSON.stringify({ rate: 8000, width: 1, channels: 1 }));
    const second = Buffer.alloc(8000, 128);
    for (let s = 0; s < 600; s++) await probe.publish('sarai/voice/bedroom/audio/chunk', second, { qos: 0 });
    await probe.publish('sarai/voice/bedroom/audio/stop', '');
    await errorFor('sarai/voice/bedroom/audio/chunk', /longer than 10 s/);

    await probe.publish('sarai/voice/kitchen/say', Buffer.from([0x68, 0x69, 0xff, 0xfe]));
    await errorFor('sarai/voice/kitchen/say', /not valid UTF-8/);
    await probe.publish('sarai/voice/Bad-Id/audio', good);
    await errorFor('sarai/voice/Bad-Id/audio', /invalid satellite id/);
    // (processed after the overlong stream's stop) one error for that whole stream, not one per chunk
    expect(probe.messages.filter((m) => m.topic === 'sarai/error' && /longer than 10 s/.test(m.payload.toString())).length).toBe(1);

    // silence: the model hears nothing; a clear error and a response that says so
    const silence = Buffer.alloc(44 + 32000);
    good.copy(silence, 0, 0, 44);
    silence.writeUInt32LE(32000, 40);
    await probe.publish('sarai/voice/kitchen/audio', silence);
    await errorFor('sarai/voice/kitchen/audio', /no speech recognized/);
    const failed = json(await probe.waitForTopic('sarai/voice/kitchen/response', 10_000));
    expect(failed).toMatchObject({ satellite: 'kitchen', transcript: '', tts_url: '', error: expect.stringMatching(/no speech/) });

    probe.clear();
    await probe.publish('sarai/voice/kitchen/audio', good);
    await expectSpokenAnswer('kitchen');
    expect(voice.source.openStreams).toBe(0);
  });

  it('at most MAX_OPEN_STREAMS streams are open at once, whatever the satellite ids', async () => {
    const start = JSON.stringify({ rate: 16000, width: 2, channels: 1 });
    // sent in one go (in order): one at a time took ~1.5 s here, as long as stream_timeout_s
    await Promise.all(Array.from({ length: MAX_OPEN_STREAMS + 1 }, (_, i) => probe.publish(`sarai/voice/crowd_${i}/audio/start`, start)));
    const refused = await probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes('already open'), 10_000, 'stream refused');
    expect(JSON.parse(refused.payload.toString())).toMatchObject({ topic: `sarai/voice/crowd_${MAX_OPEN_STREAMS}/audio/start` });
    // the open ones end at stream_timeout_s (no audio: an error each) and free their places
    const ended = (m: { topic: string; payload: Buffer }) => m.topic === 'sarai/error' && /crowd_\d+: the stream ended with no audio/.test(m.payload.toString());
    await probe.waitFor(() => probe.messages.filter(ended).length === MAX_OPEN_STREAMS, 10_000, 'every crowd stream timed out');
    expect(voice.source.openStreams).toBe(0);
  });

  it('`say` speaks a text on a satellite without a model answer', async () => {
    await probe.publish('sarai/voice/kitchen/say', 'dinner is ready');
    const tts = await probe.waitForTopic('sarai/voice/kitchen/tts', 10_000);
    expect(ffprobe(tts.payload).durationS).toBeGreaterThan(0.5);
    expect(json(await probe.waitForTopic('sarai/voice/kitchen/response'))).toMatchObject({ route: 'say', text: 'dinner is ready' });
  });

  it('a `say` with nothing to speak is an error, a response with error set, and a bus event (the voice log)', async () => {
    await probe.publish('sarai/voice/kitchen/say', ' \u0007 ');
    await errorFor('sarai/voice/kitchen/say', /text to speak is empty/);
    const failed = json(await probe.waitForTopic('sarai/voice/kitchen/response', 10_000));
    expect(failed).toMatchObject({ satellite: 'kitchen', route: 'say', tts_url: '', error: expect.stringMatching(/empty/) as unknown });
    expect(busEvents.find((e) => e.id === failed['id'])).toMatchObject({ route: 'say', error: failed['error'] });
    expect(probe.messages.some((m) => m.topic === 'sarai/voice/kitchen/tts')).toBe(false);
  });
});
