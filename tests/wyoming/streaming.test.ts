import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EspeakBackend } from '../../src/backends/espeak/index.js';
import type { Audio } from '../../src/backends/types.js';
import { configFromObject } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { ttsInfo } from '../../src/wyoming/info.js';
import { WyomingServer } from '../../src/wyoming/server.js';
import { requireProgram } from '../helpers/require-program.js';
import { RawWyomingClient, type RawEvent } from './raw-client.js';

const log = createLogger('silent');

/** Waits for an event of `type` at index `from` or later (RawWyomingClient.waitFor looks from the start). */
async function until(c: RawWyomingClient, type: string, from = 0): Promise<RawEvent[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const at = c.events.findIndex((e, i) => i >= from && e.type === type);
    if (at >= 0) return c.events.slice(from, at + 1);
    if (c.closed || Date.now() > deadline) throw new Error(`no ${type} after event ${from}; got ${c.events.map((e) => e.type).join(', ')}`);
    await c.waitFor(`${type}-never`, 50).catch(() => undefined); // wakes on any event or after 50 ms
  }
}

describe.skipIf(!requireProgram('espeak-ng'))('Wyoming streaming TTS over real TCP (espeak-ng)', { timeout: 120_000 }, () => {
  let server: WyomingServer;
  const spoken: string[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    const spec = configFromObject({ models: { tts: { backend: 'espeak', voice: 'en-us' } } }, 'test').models['tts']!;
    const espeak = new EspeakBackend({ role: 'tts', spec, log });
    await espeak.start();
    const engine = {
      transcribe: () => Promise.reject(new Error('not an ASR server')),
      synthesize: async (text: string): Promise<Audio> => {
        spoken.push(text);
        return (await espeak.synthesize(text)).audio;
      },
    };
    server = new WyomingServer({
      kind: 'tts', host: '127.0.0.1', port: 0, engine, maxUtteranceS: 10, maxTextChars: 2_000, log, onError: (e) => errors.push(e),
      info: ttsInfo({ version: '1.2.3', languages: ['en'], sttModel: 'x', ttsVoice: 'en-us' }),
    });
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('info offers streaming on the TTS program, with the voice fields Wyoming 1.7+ defines', async () => {
    const c = await RawWyomingClient.connect(server.port);
    c.send('describe');
    const tts = ((await c.waitFor('info')).data['tts'] as Record<string, unknown>[])[0]!;
    expect(tts).toMatchObject({ name: 'sarai', installed: true, version: '1.2.3', supports_synthesize_streaming: true, attribution: { name: 'SARAi Omni Bridge', url: expect.any(String) } });
    const voice = (tts['voices'] as Record<string, unknown>[])[0]!;
    expect(voice).toMatchObject({ name: 'en-us', languages: ['en'], installed: true, version: '1.2.3', attribution: { name: expect.any(String), url: expect.any(String) } });
    c.close();
  });

  it('as Home Assistant streams it: audio for each sentence as it completes, the compat synthesize ignored, then synthesize-stopped', async () => {
    spoken.length = 0;
    const c = await RawWyomingClient.connect(server.port);
    c.send('synthesize-start', { voice: { name: 'en-us' } });
    c.send('synthesize-chunk', { text: 'The garage door ' });
    c.send('synthesize-chunk', { text: 'is open. The porch' });
    // the first sentence is heard before the rest of the text has even been sent
    const first = await until(c, 'audio-stop');
    expect(first.map((e) => e.type)).toEqual(['audio-start', ...Array<string>(first.length - 2).fill('audio-chunk'), 'audio-stop']);
    expect(spoken).toEqual(['The garage door is open.']);
    c.send('synthesize-chunk', { text: ' light is on! Good' });
    c.send('synthesize-chunk', { text: ' night' });
    c.send('synthesize', { text: 'The garage door is open. The porch light is on! Good night' }); // HA sends the whole text for old servers
    c.send('synthesize-stop');
    const rest = await until(c, 'synthesize-stopped', first.length);
    expect(rest.at(-1)?.type).toBe('synthesize-stopped');
    expect(rest.filter((e) => e.type === 'audio-start')).toHaveLength(2);
    expect(rest.filter((e) => e.type === 'audio-stop')).toHaveLength(2);
    expect(spoken).toEqual(['The garage door is open.', 'The porch light is on!', 'Good night']);
    const start = first[0]!;
    expect(start.data).toMatchObject({ rate: 22050, width: 2, channels: 1 });
    const pcm = [...first, ...rest].filter((e) => e.type === 'audio-chunk').reduce((n, e) => n + e.payload.length, 0);
    expect(pcm / 2 / 22050).toBeGreaterThan(2); // three sentences of real speech
    c.close();
  });

  it('bad streams get clear error events; the connection and the legacy synthesize keep working', async () => {
    const before = errors.length;
    const c = await RawWyomingClient.connect(server.port);
    let seen = 0;
    const next = async (type: string): Promise<RawEvent> => {
      const got = await until(c, type, seen);
      seen += got.length;
      return got.at(-1)!;
    };
    c.send('synthesize-chunk', { text: 'orphan.' });
    expect((await next('error')).data).toMatchObject({ code: 'bad-request', text: expect.stringMatching(/synthesize-chunk without synthesize-start/) });
    c.send('synthesize-stop');
    expect((await next('error')).data['text']).toMatch(/synthesize-stop without synthesize-start/);
    // a 100 kB chunk: one error, the stream is dropped, synthesize-stop still ends it
    c.send('synthesize-start');
    c.send('synthesize-chunk', { text: 'x'.repeat(100_000) });
    expect((await next('error')).data['text']).toMatch(/exceeds the limit of 2000 characters/);
    c.send('synthesize-chunk', { text: 'More. ' });
    c.send('synthesize-stop');
    const stopped = await next('synthesize-stopped');
    expect(stopped.type).toBe('synthesize-stopped');
    // chunks after the stop
    c.send('synthesize-chunk', { text: 'late.' });
    expect((await next('error')).data['text']).toMatch(/after synthesize-stop/);
    c.send('synthesize-chunk', { text: 42 } as unknown as Record<string, unknown>);
    expect((await next('error')).data['text']).toMatch(/without synthesize-start/);
    expect(errors.length - before).toBe(5);
    // the legacy path on the same connection
    spoken.length = 0;
    c.send('synthesize', { text: 'Still here.' });
    await next('audio-stop');
    expect(spoken).toEqual(['Still here.']);
    c.send('describe');
    await next('info');
    c.close();
  });
});
