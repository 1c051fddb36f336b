import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AskAnswer } from '../../src/core/results.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';

describe.skipIf(!haveMosquitto())('the bridge answers sarai/ask through the router and the model manager', () => {
  const tmp = tempModelDir();
  let broker: Mosquitto;
  let t: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    const file = tinyLlamaFile(path.join(tmp.dir, 'tiny.gguf'));
    t = await startTestApp({
      mqtt: { url: broker.url },
      runtime: { threads: 1, probe_load: false },
      models: { tiny: { backend: 'llama', name: 'Tiny test', gguf_file: file, context_length: 512, max_tokens: 8, temperature: 0 } },
    });
    probe = await MqttProbe.connect(broker.url, ['sarai/answer', 'sarai/bridge/state'], 5);
  });
  afterAll(async () => {
    await probe.close();
    await t.stop();
    await broker.stop();
    tmp.cleanup();
  });

  it('answers a JSON question with its id, the route the router chose and the token count', async () => {
    const got = probe.waitForTopic('sarai/answer', 30_000);
    await probe.publish('sarai/ask', JSON.stringify({ text: 'is the garage door closed?', id: 'app-1' }));
    const a = JSON.parse((await got).payload.toString()) as AskAnswer;
    expect(a).toMatchObject({ id: 'app-1', route: 'tiny', model: 'Tiny test', tokens: 8 });
    expect(a.route_reason.length).toBeGreaterThan(0);
    expect(a.error).toBeUndefined();
    expect(t.app.ctx.models?.info().find((i) => i.role === 'tiny')?.loaded).toBe(true);
  });

  it('lists the loaded model on the bridge device (the "Loaded models" sensor)', async () => {
    const state = await probe.waitForTopic(t.app.ctx.bridge.stateTopic, 10_000, (m) => (JSON.parse(m.payload.toString()) as { loaded_model_count: number }).loaded_model_count > 0);
    expect(JSON.parse(state.payload.toString())).toMatchObject({ loaded_models: ['tiny'], loaded_model_count: 1 });
  });

  it('announces a "Last answer" sensor of sarai/answer on the bridge device (the dashboard card reads it)', async () => {
    const disc = await MqttProbe.connect(broker.url, ['homeassistant/device/+/config'], 5);
    try {
      type Cmp = { p: string; state_topic?: string; json_attributes_topic?: string; unique_id: string };
      const withAnswer = (m: { payload: Buffer }) => Boolean((JSON.parse(m.payload.toString()) as { cmps?: Record<string, Cmp> }).cmps?.['last_answer']);
      const m = await disc.waitForTopic(`homeassistant/device/${t.app.ctx.bridge.deviceId}/config`, 30_000, withAnswer);
      const cmp = (JSON.parse(m.payload.toString()) as { cmps: Record<string, Cmp> }).cmps['last_answer'];
      expect(cmp).toMatchObject({ p: 'sensor', state_topic: 'sarai/answer', json_attributes_topic: 'sarai/answer', unique_id: `${t.app.ctx.bridge.deviceId}_last_answer` });
    } finally {
      await disc.close();
    }
  });
});
