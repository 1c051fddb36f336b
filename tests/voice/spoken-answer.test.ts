import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateResult } from '../../src/backends/types.js';
import type { AnswerOptions, Routed } from '../../src/router/types.js';
import { SpokenAnswer, capAnswer } from '../../src/voice/spoken-answer.js';
import { VoiceService } from '../../src/voice/service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';
import { BackendVoiceRouter, espeakWav, ffprobe, speechBackends } from './helpers.js';

const ready = requireProgram('espeak-ng') && requireProgram('ffprobe');

/** A stand-in for a model writing `text` word by word (one token each), `msPerToken` apart, honouring maxTokens. */
class StreamingAnswerRouter extends BackendVoiceRouter {
  answerDoneAt = 0;
  text = '';
  msPerToken = 0;
  override async answer(_t: string, opts: AnswerOptions = {}): Promise<Routed<GenerateResult>> {
    const started = Date.now();
    const words = this.text.split(/(?<= )/);
    const n = Math.min(words.length, opts.maxTokens ?? Infinity);
    let out = '';
    for (let i = 0; i < n; i++) {
      if (this.msPerToken) await new Promise((r) => setTimeout(r, this.msPerToken));
      out += words[i];
      opts.onToken?.(words[i]!);
    }
    this.answerDoneAt = Date.now();
    const latencyMs = Date.now() - started;
    return { value: { text: out, model: 'scripted', tokens: n, latencyMs }, route: 'tiny', reason: 'test', model: 'scripted', latencyMs };
  }
}

describe.skipIf(!ready)('a spoken answer, sentence by sentence and capped (real espeak-ng)', { timeout: 120_000 }, () => {
  let dir: string;
  let models: Awaited<ReturnType<typeof speechBackends>>;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sarai-spoken-'));
    models = await speechBackends(dir);
  });
  afterAll(async () => {
    await models?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const speaker = (maxChars: number, said: string[]): SpokenAnswer =>
    new SpokenAnswer({
      maxChars,
      speak: async (s) => {
        said.push(s);
        return (await models.espeak.synthesize!(s)).audio;
      },
      onAudio: async () => undefined,
    });

  it('speaks each sentence once it is complete, and the rest at the end', async () => {
    const said: string[] = [];
    const a = speaker(600, said);
    for (const piece of ['The door ', 'is locked. The li', 'ghts are off! Good', ' night']) a.push(piece);
    const r = await a.finish('', false);
    expect(said).toEqual(['The door is locked.', 'The lights are off!', 'Good night']);
    expect(r.text).toBe('The door is locked. The lights are off! Good night');
    expect(r.parts).toBe(3);
    expect(r.audio.samples.length / r.audio.sampleRate).toBeGreaterThan(2);
    expect(a.truncatedBy).toBeUndefined();
  });

  it('cuts at the last sentence end within max_answer_chars; one endless sentence is cut at a word', async () => {
    const said: string[] = [];
    const a = speaker(45, said);
    a.push('The door is locked. The lights are off. The car is home. ');
    expect((await a.finish('', false)).text).toBe('The door is locked. The lights are off.');
    expect(a.truncatedBy).toBe('max_answer_chars');
    // the 113 s reply: a random model's run without a sentence end
    const b = speaker(45, []);
    const r = await b.finish('la '.repeat(2_000), false);
    expect(r.text.length).toBeLessThanOrEqual(45);
    expect(r.text).toMatch(/^(la )+la$/);
    expect(b.truncatedBy).toBe('max_answer_chars');
  });

  it('at the token limit the unfinished sentence is dropped; a backend that did not stream is split at the end', async () => {
    const a = speaker(600, []);
    a.push('It is late. The alarm is set for se');
    expect((await a.finish('It is late. The alarm is set for se', true)).text).toBe('It is late.');
    expect(a.truncatedBy).toBe('max_answer_tokens');
    const said: string[] = [];
    const b = speaker(600, said);
    expect((await b.finish('One. Two.', false)).parts).toBe(2);
    expect(said).toEqual(['One.', 'Two.']);
  });

  it('the same caps for an answer spoken in one piece (voice.speak_by_sentence: false)', () => {
    expect(capAnswer('The door is locked. The lights are off. The car is home.', 45, false)).toEqual({ text: 'The door is locked. The lights are off.', truncatedBy: 'max_answer_chars' });
    expect(capAnswer('It is late. The alarm is set for se', 600, true)).toEqual({ text: 'It is late.', truncatedBy: 'max_answer_tokens' });
    expect(capAnswer('Short.', 600, false)).toEqual({ text: 'Short.' });
    expect(capAnswer('la '.repeat(2_000), 45, false).text).toMatch(/^(la )+la$/);
  });

  it('a failing TTS fails the answer (no half-spoken success)', async () => {
    const a = new SpokenAnswer({ maxChars: 600, speak: () => Promise.reject(new Error('tts down')), onAudio: async () => undefined });
    a.push('Hello there. ');
    await expect(a.finish('', false)).rejects.toThrow('tts down');
  });

  describe.skipIf(!haveMosquitto())('over MQTT', () => {
    let mosq: Mosquitto;
    let t: TestApp;
    let voice: VoiceService;
    let probe: MqttProbe;
    let router: StreamingAnswerRouter;

    beforeAll(async () => {
      mosq = await startMosquitto();
      t = await startTestApp({ mqtt: { url: mosq.url }, voice: { enabled: false, max_answer_chars: 60, max_answer_tokens: 40 } });
      router = new StreamingAnswerRouter(models.asr, models.espeak);
      voice = new VoiceService(t.app.ctx, { router });
      probe = await MqttProbe.connect(mosq.url, ['sarai/voice/#']);
      await voice.start();
      await t.app.ctx.mqtt.subscriptionsSettled();
    });
    afterAll(async () => {
      await voice?.stop();
      await probe?.close();
      await t?.stop();
      await mosq?.stop();
    });

    it('the first sentence is on .../tts before the model has finished; the response says the answer was cut', async () => {
      router.text = 'The door is locked. The lights are off. Good night. The car is home and the alarm is set. ';
      router.msPerToken = 150;
      await probe.publish('sarai/voice/kitchen/audio', espeakWav('good night'));
      const first = await probe.waitForTopic('sarai/voice/kitchen/tts', 30_000);
      const firstAt = Date.now();
      const response = JSON.parse((await probe.waitForTopic('sarai/voice/kitchen/response', 30_000)).payload.toString()) as Record<string, unknown>;
      expect(firstAt).toBeLessThan(router.answerDoneAt);
      expect(ffprobe(first.payload).durationS).toBeGreaterThan(0.5);
      expect(response).toMatchObject({ text: 'The door is locked. The lights are off. Good night.', truncated_by: 'max_answer_chars', tts_url: expect.stringMatching(/^http/) });
      const parts = probe.messages.filter((m) => m.topic === 'sarai/voice/kitchen/tts');
      expect(parts).toHaveLength(3);
      const total = parts.reduce((s, m) => s + ffprobe(m.payload).durationS, 0);
      const whole = await fetch(String(response['tts_url']));
      expect(ffprobe(Buffer.from(await whole.arrayBuffer())).durationS).toBeCloseTo(total, 1);
    });

    it('max_answer_tokens goes to the model, and an answer that used them all is cut at its last sentence end', async () => {
      probe.clear();
      router.msPerToken = 0;
      router.text = 'Yes. '.repeat(3) + 'word '.repeat(100);
      await probe.publish('sarai/voice/kitchen/audio', espeakWav('talk'));
      const response = JSON.parse((await probe.waitForTopic('sarai/voice/kitchen/response', 30_000)).payload.toString()) as Record<string, unknown>;
      expect(response).toMatchObject({ text: 'Yes. Yes. Yes.', truncated_by: 'max_answer_tokens' });
    });
  });
});

