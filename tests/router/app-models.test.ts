import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoCapableBackendError } from '../../src/router/errors.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

/**
 * The default line-up with no weights on disk (tiny/embedding GGUF files missing, vision/stt/tts
 * folders missing) plus an omni server that is up: the bridge starts, says which files are
 * missing, reports a backend problem, and still answers what it can.
 */
describe('bridge with the default model line-up and no weights', () => {
  let t: TestApp;
  let omni: OpenAIServer;

  beforeAll(async () => {
    omni = await OpenAIServer.start({ reply: 'a parcel on the doorstep' });
    t = await startTestApp({
      mqtt: { url: undefined, embedded: { host: '127.0.0.1', port: 0 } },
      models: {
        omni: { backend: 'openai', url: omni.url, model: 'Qwen2.5-Omni-7B', name: 'Qwen2.5-Omni-7B' },
        tiny: { backend: 'llama', name: 'LFM2-1.2B', gguf_repo_id: 'LiquidAI/LFM2-1.2B-GGUF', gguf_file: 'LFM2-1.2B-Q4_K_M.gguf' },
        embedding: { backend: 'llama', gguf_file: 'embeddinggemma-300M-Q8_0.gguf' },
        vision: { backend: 'transformers', model: 'Xenova/vit-gpt2-image-captioning', task: 'image-to-text' },
        stt: { backend: 'transformers', model: 'Xenova/whisper-tiny.en', task: 'automatic-speech-recognition' },
        tts: { backend: 'transformers', model: 'Xenova/mms-tts-eng', task: 'text-to-speech' },
        expert: { backend: 'ollama', url: 'http://127.0.0.1:9', model: 'solar', enabled: false },
      },
    });
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
    await omni?.close();
  });

  it('starts, and says which model files are missing where', () => {
    const warnings = t.logs.lines.filter((l) => l.module === 'backends' && l.level === 'warn').map((l) => String(l.msg));
    expect(warnings).toContainEqual(expect.stringMatching(/^tiny: model file .*LFM2-1\.2B-Q4_K_M\.gguf is missing; run `sarai models pull tiny` or download LFM2-1\.2B-Q4_K_M\.gguf from https:\/\/huggingface\.co\/LiquidAI\/LFM2-1\.2B-GGUF into /));
    expect(warnings).toContainEqual(expect.stringMatching(/^vision: model folder .*Xenova\/vit-gpt2-image-captioning does not exist/));
    const state = t.app.ctx.backends.bridgeState() as { backend_problem: boolean; backend_problems: string[] };
    expect(state.backend_problem).toBe(true);
    expect(state.backend_problems.map((p) => p.split(':')[0])).toEqual(['tiny', 'embedding', 'vision', 'stt', 'tts']);
    // one instance per GGUF: the registry uses the model manager's llama backends
    const tiny = t.app.ctx.backends.get('tiny');
    expect(tiny?.external).toBe(true);
    expect(tiny?.backend).toBe(t.app.ctx.models?.backend('tiny'));
  });

  it('puts the problem binary_sensor on the bridge device and backend health on /metrics', async () => {
    const bridge = t.app.ctx.bridge.state();
    expect(bridge.backend_problem).toBe(true);
    const metrics = await t.app.ctx.metrics.text();
    expect(metrics).toMatch(/sarai_backend_up{role="tiny",kind="llama"} 0/);
    expect(metrics).toMatch(/sarai_backend_up{role="omni",kind="openai"} 1/);
  });

  it('answers what it can (omni up) and says clearly what it cannot', async () => {
    const jpeg = Buffer.from('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/yQALCAABAAEBAREA/8wABgAQEAX/2gAIAQEAAD8A0s8g/9k=', 'base64');
    const r = await t.app.ctx.router.describe({ prompt: 'what is there?', images: [jpeg] });
    expect(r.route).toBe('omni');
    expect(r.value.text).toBe('a parcel on the doorstep');
    const err = await t.app.ctx.router.synthesize('hello').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoCapableBackendError);
    expect((err as Error).message).toMatch(/^synthesize: no configured, healthy backend can take speech output: tts failed to start, retry in \d+ s/);
    // omni also takes text: with tiny missing, the question still gets an answer, and the reason says why
    const a = await t.app.ctx.router.answer('turn on the lights');
    expect(a.route).toBe('omni');
    expect(a.reason).toMatch(/^text \(no expert role\); tiny failed to start, retry in \d+ s -> omni$/);
  });

  it('when omni dies, its circuit opens and the bridge state (problem sensor) says so at once', async () => {
    const url = t.app.broker?.url;
    if (!url) throw new Error('embedded broker expected');
    const probe = await MqttProbe.connect(url, [t.app.ctx.bridge.stateTopic]);
    try {
      await omni.peer.kill();
      for (let i = 0; i < t.app.ctx.config.router.circuit_failures; i++) {
        await expect(t.app.ctx.router.answer('turn on the lights', { role: 'omni' })).rejects.toThrow(/cannot reach/);
      }
      const msg = await probe.waitForTopic(t.app.ctx.bridge.stateTopic, 5000, (m) => {
        const s = JSON.parse(m.payload.toString()) as { backends?: Record<string, { circuit: string; up: boolean }> };
        return s.backends?.omni?.circuit === 'open';
      });
      const state = JSON.parse(msg.payload.toString()) as { backend_problem: boolean; backend_problems: string[] };
      expect(state.backend_problem).toBe(true);
      expect(state.backend_problems).toContainEqual(expect.stringMatching(/^omni: omni: cannot reach/));
    } finally {
      await probe.close();
    }
  });
});
