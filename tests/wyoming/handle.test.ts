import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaBackend } from '../../src/backends/llama/backend.js';
import { disposeSharedLlama } from '../../src/backends/llama/runtime.js';
import type { Audio } from '../../src/backends/types.js';
import { MAX_ASK_CHARS, backendGenerate, routerGenerate } from '../../src/sources/ask.js';
import { conversationAgent } from '../../src/wyoming/conversation.js';
import { handleInfo } from '../../src/wyoming/info.js';
import { WyomingServer, languageServed } from '../../src/wyoming/server.js';
import { silentLog, spec, testConfig } from '../backends/llama-helpers.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { harness, type Harness } from '../router/harness.js';
import { RawWyomingClient } from './raw-client.js';

describe('languageServed', () => {
  it('matches by primary subtag, case and separator aside; no list serves any', () => {
    expect(languageServed('en-GB', ['en'])).toBe(true);
    expect(languageServed('en', ['en_US'])).toBe(true);
    expect(languageServed('EN', ['en'])).toBe(true);
    expect(languageServed('de', ['en', 'fr'])).toBe(false);
    expect(languageServed('de', [])).toBe(true);
  });
});

/**
 * The conversation agent as Home Assistant's wyoming conversation entity drives it: one TCP
 * connection per sentence, `transcript` {text, language, context}, then read until `handled`
 * or `not-handled` (HA skips `error` events, so failures must be `not-handled`).
 */
describe('Wyoming conversation agent (handle) over real TCP with a tiny real GGUF model', () => {
  const tmp = tempModelDir('sarai-handle-');
  let backend: LlamaBackend;
  let noText: Harness;
  let server: WyomingServer;
  let bare: WyomingServer;
  const errors: unknown[] = [];
  const noSpeech = {
    transcribe: () => Promise.reject(new Error('not this server')),
    synthesize: (): Promise<Audio> => Promise.reject(new Error('not this server')),
  };
  const info = { version: 'test', languages: ['en', 'fr'], sttModel: 'stt', ttsVoice: 'voice', textModel: 'tiny-test' };
  const common = { kind: 'handle' as const, host: '127.0.0.1', port: 0, info: handleInfo(info), maxUtteranceS: 10, maxTextChars: MAX_ASK_CHARS, languages: info.languages, log: silentLog, onError: (e: unknown) => errors.push(e) };

  beforeAll(async () => {
    const config = testConfig({ tiny: { backend: 'llama', name: 'tiny-test', context_length: 1024, max_tokens: 8, temperature: 0 } });
    backend = new LlamaBackend({ role: 'tiny', spec: spec(config, 'tiny'), modelPath: tinyLlamaFile(path.join(tmp.dir, 'tiny.gguf')), runtime: config.runtime, log: silentLog });
    await backend.start();
    server = new WyomingServer({ ...common, engine: { ...noSpeech, handle: conversationAgent(backendGenerate(backend), 600) } });
    await server.start();
    // the bridge's real router with no text role configured
    noText = harness({});
    bare = new WyomingServer({ ...common, engine: { ...noSpeech, handle: conversationAgent(routerGenerate(noText.router), 600) } });
    await bare.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await bare?.stop();
    await noText?.stop();
    await backend?.dispose();
    await disposeSharedLlama();
    tmp.cleanup();
  });

  const ask = async (port: number, data: Record<string, unknown>): Promise<RawWyomingClient> => {
    const c = await RawWyomingClient.connect(port);
    c.send('transcript', data);
    return c;
  };
  const outcome = (c: RawWyomingClient) => c.waitForAny(['handled', 'not-handled'], 60_000);

  it('describe -> info with one installed handle program (name, languages, version, attribution, no streaming)', async () => {
    const c = await RawWyomingClient.connect(server.port);
    c.send('describe');
    const programs = (await c.waitFor('info')).data['handle'] as Record<string, unknown>[];
    expect(programs).toHaveLength(1);
    expect(programs[0]).toMatchObject({
      name: 'SARAi', installed: true, version: 'test', attribution: { name: 'SARAi Omni Bridge' },
      supports_handled_streaming: false, supports_home_control: false,
    });
    expect((programs[0]!['models'] as Record<string, unknown>[])[0]).toMatchObject({ name: 'tiny-test', installed: true, languages: ['en', 'fr'] });
    c.close();
  });

  it('transcript -> handled with the text model\'s answer and the context echoed, connection left open', async () => {
    const context = { conversation_id: '01JABCDEF', satellite_id: 'assist_satellite.kitchen' };
    const c = await ask(server.port, { text: 'did anyone come to the door today?', language: 'en-GB', context });
    const e = await outcome(c);
    expect(e.type).toBe('handled');
    expect(typeof e.data['text']).toBe('string');
    expect(String(e.data['text']).length).toBeGreaterThan(0);
    expect(e.data['context']).toEqual(context);
    // a second sentence on the same connection is answered too
    c.events.length = 0;
    c.send('transcript', { text: 'and yesterday?' });
    expect((await outcome(c)).type).toBe('handled');
    expect(c.closed).toBe(false);
    c.close();
  }, 120_000);

  it('bad input gets not-handled saying why (HA reads it as a failed answer) and is reported; the server keeps answering', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ text: 'wie spät ist es?', language: 'de', context: { conversation_id: 'c1' } }, /language "de" is not configured \(wyoming\.languages: en, fr\)/],
      [{ text: 'x'.repeat(MAX_ASK_CHARS + 1), language: 'en' }, new RegExp(`transcript of ${MAX_ASK_CHARS + 1} characters is longer than ${MAX_ASK_CHARS}`)],
      [{ text: '   ' }, /transcript needs non-empty text/],
      [{ language: 'en' }, /transcript needs non-empty text/],
      [{ text: 'hi', language: 42 }, /language must be a string/],
    ];
    for (const [data, why] of cases) {
      const before = errors.length;
      const c = await ask(server.port, data);
      const e = await outcome(c);
      expect(e.type).toBe('not-handled');
      expect(String(e.data['text'])).toMatch(why);
      expect(errors.length).toBe(before + 1);
      c.close();
    }
    // the not-handled keeps HA's context
    const c = await ask(server.port, { text: 'bonjour', language: 'es', context: { conversation_id: 'c2' } });
    expect((await outcome(c)).data).toMatchObject({ context: { conversation_id: 'c2' } });
    c.close();
    const ok = await ask(server.port, { text: 'hello', language: 'fr' });
    expect((await outcome(ok)).type).toBe('handled');
    ok.close();
  }, 120_000);

  it('no text model configured: not-handled that says so', async () => {
    const c = await ask(bare.port, { text: 'did anyone come to the door today?', language: 'en' });
    const e = await outcome(c);
    expect(e.type).toBe('not-handled');
    expect(String(e.data['text'])).toMatch(/^SARAi could not answer: .*no configured, healthy backend can (generate|take) text/);
    c.close();
  });

  it('speech events on the conversation port, and a transcript on a server without an agent, are refused clearly', async () => {
    const c = await RawWyomingClient.connect(server.port);
    c.send('synthesize', { text: 'hello' });
    const e = await outcome(c);
    expect(e).toMatchObject({ type: 'not-handled', data: { text: 'this is the conversation (handle) server; send synthesize to the TTS port' } });
    c.close();
  });
});
