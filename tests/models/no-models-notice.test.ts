import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/ports.js';

/** Issue 16 item 4: a bridge with every in-process role missing says so in one clear item. */
describe('no models yet', () => {
  let app: TestApp;
  let mqttPort = 0;
  beforeAll(async () => {
    mqttPort = await freePort();
    app = await startTestApp({
      mqtt: { embedded: { host: '127.0.0.1', port: mqttPort } },
      runtime: { allow_downloads: false },
      models: {
        tiny: { backend: 'llama', gguf_repo_id: 'LiquidAI/LFM2-1.2B-GGUF', gguf_file: 'LFM2-1.2B-Q4_K_M.gguf' },
        stt: { backend: 'transformers', model: 'Xenova/whisper-tiny.en', task: 'automatic-speech-recognition' },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await app?.stop();
  });

  const NOTICE = 'no models yet: run `sarai models pull --all` or enable downloads (runtime.allow_downloads: true)';

  it('shows one "no models yet" item on sarai/bridge/state, /api/system and in the log', async () => {
    const ctx = app.app.ctx;
    const probe = await MqttProbe.connect(`mqtt://127.0.0.1:${mqttPort}`, ['sarai/bridge/state']);
    try {
      const m = await probe.waitForTopic('sarai/bridge/state', 20_000);
      expect(JSON.parse(m.payload.toString())['models_notice']).toBe(NOTICE);
      const port = ctx.http.port;
      const s = (await (await fetch(`http://127.0.0.1:${port}/api/system`)).json()) as Record<string, unknown>;
      expect(s['models_notice']).toBe(NOTICE);
      expect(app.logs.lines.filter((l) => l['msg'] === NOTICE)).toHaveLength(1);
    } finally {
      await probe.close();
    }
  }, 60_000);
});
