import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WyomingBackend } from '../../src/backends/wyoming/index.js';
import type { Audio, Backend } from '../../src/backends/types.js';
import { configFromObject } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { encodePcm16, readWav, wavFromPcm16 } from '../../src/media/audio/index.js';
import { asrInfo, ttsInfo } from '../../src/wyoming/info.js';
import { WyomingServer } from '../../src/wyoming/server.js';
import { requireProgram } from '../helpers/require-program.js';
import { claimedDurationS, espeakWav, ffprobe, speechBackends } from '../voice/helpers.js';
import { RawWyomingClient } from './raw-client.js';

const haveTools = requireProgram('espeak-ng') && requireProgram('ffprobe');
const log = createLogger('silent');

describe.skipIf(!haveTools)('Wyoming server over real TCP (tiny ONNX ASR, espeak-ng and tiny VITS TTS)', () => {
  let dir: string;
  let models: Awaited<ReturnType<typeof speechBackends>>;
  const errors: unknown[] = [];
  let ttsBackend: Backend;
  let asr: WyomingServer;
  let tts: WyomingServer;
  const info = { version: 'test', languages: ['en'], sttModel: 'tiny-asr', ttsVoice: 'espeak' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sarai-wyoming-'));
    models = await speechBackends(dir);
    ttsBackend = models.espeak;
    const engine = {
      transcribe: async (a: Audio) => models.asr.transcribe(a),
      synthesize: async (t: string) => (await ttsBackend.synthesize!(t)).audio,
    };
    const common = { host: '127.0.0.1', port: 0, engine, maxUtteranceS: 10, maxTextChars: 500, log, onError: (e: unknown) => errors.push(e) };
    asr = new WyomingServer({ ...common, kind: 'asr', info: asrInfo(info) });
    tts = new WyomingServer({ ...common, kind: 'tts', info: ttsInfo(info) });
    await asr.start();
    await tts.start();
  });
  afterAll(async () => {
    await asr.stop();
    await tts.stop();
    await models.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('describe -> info naming the asr and tts programs, installed, with models/voices and languages', async () => {
    const c = await RawWyomingClient.connect(asr.port);
    c.send('describe');
    const i = await c.waitFor('info');
    const prog = (i.data['asr'] as Record<string, unknown>[])[0]!;
    expect(prog).toMatchObject({ name: 'sarai', installed: true, attribution: { name: 'SARAi Omni Bridge' } });
    expect((prog['models'] as Record<string, unknown>[])[0]).toMatchObject({ name: 'tiny-asr', installed: true, languages: ['en'] });
    c.close();
    const t = await RawWyomingClient.connect(tts.port);
    t.send('describe');
    const voices = ((await t.waitFor('info')).data['tts'] as { voices: Record<string, unknown>[] }[])[0]!.voices;
    expect(voices[0]).toMatchObject({ name: 'espeak', installed: true, languages: ['en'] });
    t.close();
  });

  it('transcribe + audio-start/chunk/stop of espeak-ng speech -> transcript', async () => {
    const speech = readWav(espeakWav('hello world'));
    const pcm = encodePcm16(speech.samples);
    const c = await RawWyomingClient.connect(asr.port);
    const fmt = { rate: 22050, width: 2, channels: 1 };
    c.send('transcribe', { language: 'en' });
    c.send('audio-start', fmt);
    for (let off = 0; off < pcm.length; off += 4096) c.send('audio-chunk', fmt, pcm.subarray(off, off + 4096));
    c.send('audio-stop');
    const t = await c.waitFor('transcript');
    expect(t.data).toEqual({ text: models.asrText, language: 'en' });
    c.close();
  });

  it('synthesize -> audio-start/chunk/stop that make a valid 16-bit WAV of the claimed duration (espeak-ng and tiny VITS)', async () => {
    for (const backend of [models.espeak, models.tinyTts]) {
      ttsBackend = backend;
      const c = await RawWyomingClient.connect(tts.port);
      c.send('synthesize', { text: 'the door is locked', voice: { name: 'espeak' } });
      await c.waitFor('audio-stop');
      const start = c.events.find((e) => e.type === 'audio-start')!;
      expect(start.data).toMatchObject({ width: 2, channels: 1 });
      const pcm = Buffer.concat(c.events.filter((e) => e.type === 'audio-chunk').map((e) => e.payload));
      const wav = wavFromPcm16(pcm, Number(start.data['rate']), 1);
      const p = ffprobe(wav);
      expect(p).toMatchObject({ codec: 'pcm_s16le', bitsPerSample: 16, channels: 1, sampleRate: start.data['rate'] });
      expect(p.durationS).toBeCloseTo(claimedDurationS(wav), 2);
      if (backend === models.tinyTts) expect(pcm.length / 2).toBe(models.tts.expectedSamples('the door is locked'));
      else expect(p.durationS).toBeGreaterThan(0.7);
      c.close();
    }
    ttsBackend = models.espeak;
  });

  it('answers bad input with error events and keeps serving', async () => {
    const c = await RawWyomingClient.connect(asr.port);
    c.send('audio-chunk', { rate: 16000, width: 2, channels: 1 }, Buffer.alloc(320));
    expect((await c.waitFor('error')).data).toMatchObject({ text: 'audio-chunk without audio-start', code: 'bad-request' });
    c.events.length = 0;
    c.send('audio-start', { rate: 0, width: 2, channels: 1 });
    expect((await c.waitFor('error')).data['text']).toMatch(/sample rate 0 Hz is outside/);
    c.events.length = 0;
    c.send('audio-start', { rate: 1_000_000, width: 2, channels: 1 });
    expect((await c.waitFor('error')).data['text']).toMatch(/1000000 Hz/);
    c.events.length = 0;
    // 10 minutes at 16 kHz: the server stops holding audio at 10 s and says so at audio-stop
    const fmt = { rate: 16000, width: 2, channels: 1 };
    c.send('audio-start', fmt);
    const second = Buffer.alloc(32000, 1);
    for (let s = 0; s < 600; s++) c.send('audio-chunk', fmt, second);
    c.send('audio-stop');
    expect((await c.waitFor('error', 30_000)).data['text']).toMatch(/longer than 10 s/);
    c.events.length = 0;
    c.send('audio-start', fmt);
    c.send('audio-stop');
    expect((await c.waitFor('error')).data['text']).toMatch(/no audio/);
    c.events.length = 0;
    c.send('describe');
    await c.waitFor('info');
    c.close();

    const t = await RawWyomingClient.connect(tts.port);
    t.send('synthesize', { text: '' });
    expect((await t.waitFor('error')).data['text']).toMatch(/non-empty text/);
    t.events.length = 0;
    t.send('synthesize', { text: 'x'.repeat(501) });
    expect((await t.waitFor('error')).data['text']).toMatch(/exceeds the limit of 500/);
    t.events.length = 0;
    t.send('transcribe');
    expect((await t.waitFor('error')).data['code']).toBe('unsupported');
    t.close();
  });

  it('a header that is not JSON, non-UTF-8 text, or a 2 GB payload: an error event, then the connection closes', async () => {
    const cases: (Buffer | string)[] = [
      'this is not json\n',
      Buffer.concat([Buffer.from('{"type":"synthesize","data_length":8}\n'), Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x3a, 0x7d])]),
      '{"type":"audio-chunk","payload_length":2147483648}\n',
    ];
    for (const bytes of cases) {
      const c = await RawWyomingClient.connect(tts.port);
      const before = errors.length;
      c.sendRaw(bytes);
      const e = await c.waitFor('error');
      expect(e.data['code']).toBe('protocol');
      expect(String(e.data['text'])).toMatch(/not JSON|not valid UTF-8|exceeds the limit/);
      await c.waitClosed();
      expect(errors.length).toBe(before + 1);
    }
    // the server is still up
    const ok = await RawWyomingClient.connect(tts.port);
    ok.send('describe');
    await ok.waitFor('info');
    ok.close();
  });

  it('the Wyoming client backends talk to a Wyoming server (here: ours) for stt and tts', async () => {
    const config = configFromObject(
      { models: { stt: { backend: 'wyoming', url: `tcp://127.0.0.1:${asr.port}` }, tts: { backend: 'wyoming', url: `tcp://127.0.0.1:${tts.port}`, voice: 'espeak' } } },
      'test',
    );
    const stt = new WyomingBackend({ role: 'stt', spec: config.models['stt']!, log });
    const say = new WyomingBackend({ role: 'tts', spec: config.models['tts']!, log });
    await stt.start();
    await say.start();
    const spoken = await say.synthesize('hello there');
    expect(spoken.audio.sampleRate).toBe(22050);
    expect(spoken.audio.samples.length).toBeGreaterThan(10_000);
    const heard = await stt.transcribe({ sampleRate: 16000, samples: spoken.audio.samples.subarray(0, 16000) });
    expect(heard.text).toBe(models.asrText);
    await expect(say.synthesize('x'.repeat(501))).rejects.toThrow(/Wyoming server error: .*limit of 500/);
    const down = new WyomingBackend({ role: 'stt', spec: { ...config.models['stt']!, url: 'tcp://127.0.0.1:1' }, log });
    await expect(down.start()).rejects.toThrow(/cannot connect/);
    expect(() => new WyomingBackend({ role: 'stt', spec: { ...config.models['stt']!, url: 'http://x' }, log })).toThrow(/tcp:\/\/host:port/);
    await Promise.all([stt.dispose(), say.dispose(), down.dispose()]);
  });
});
