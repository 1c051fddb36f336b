import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MultimodalBackend } from '../../src/backends/multimodal/index.js';
import { CAMERA_SEVERITIES } from '../../src/core/camera-schema.js';
import { tempModelDir, tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { tinyOmniMmproj, tinyVisionMmproj } from '../fixtures/gguf/tiny-mtmd.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';
import { requireProgram } from '../helpers/require-program.js';
import { espeakWav } from '../voice/helpers.js';
import { solidJpeg } from './helpers.js';

const ready = haveMosquitto() && requireProgram('espeak-ng');
const json = (m: Received) => JSON.parse(m.payload.toString()) as Record<string, unknown>;

/** The omni role as the seed runs it (GGUF + mmproj, never auto-unloaded, warmed up), on a tiny random pair. */
describe.skipIf(!ready)('the bridge with an in-process omni role on libmtmd (real mosquitto, tiny GGUF + mmproj)', () => {
  let mosq: Mosquitto;
  let t: TestApp;
  let probe: MqttProbe;
  let models: { dir: string; cleanup: () => void };

  beforeAll(async () => {
    mosq = await startMosquitto();
    models = tempModelDir('sarai-mtmd-app-');
    tinyLlamaFile(path.join(models.dir, 'omni.gguf'), { nEmbd: 64 });
    tinyOmniMmproj(path.join(models.dir, 'omni-mmproj.gguf'), { projectionDim: 64 });
    tinyVisionMmproj(path.join(models.dir, 'mismatched-mmproj.gguf'), { projectionDim: 8 });
    t = await startTestApp({
      mqtt: { url: mosq.url },
      models_dir: models.dir,
      models: {
        omni: { backend: 'llama', gguf_file: 'omni.gguf', mmproj_file: 'omni-mmproj.gguf', context_length: 4096, max_tokens: 512, auto_unload: false, warm_up: true, timeout_s: 120 },
        broken: { backend: 'llama', gguf_file: 'omni.gguf', mmproj_file: 'mismatched-mmproj.gguf', context_length: 2048, timeout_s: 120 },
      },
      router: { image_chain: ['broken', 'omni'] },
      runtime: { threads: 1 },
      satellites: { kitchen: { name: 'Kitchen' } },
      cameras: { front_door: { name: 'Front door', cooldown_s: 0 } },
      camera_defaults: { cooldown_s: 0 },
    });
    probe = await MqttProbe.connect(mosq.url, ['sarai/#']);
  }, 120_000);

  afterAll(async () => {
    await probe?.close();
    await t?.stop();
    await mosq?.stop();
    models?.cleanup();
  });

  it('a JPEG on sarai/camera/<id>/snapshot gets camera JSON from the real mtmd runtime; the mismatched projector is refused and the next role serves', async () => {
    await probe.publish('sarai/camera/front_door/snapshot', await solidJpeg([200, 40, 30], { width: 64, height: 64 }));
    const result = json(await probe.waitForTopic('sarai/camera/front_door/result', 90_000));
    expect(result).toMatchObject({ camera: 'front_door', route: 'omni', source: 'mqtt' });
    expect(typeof result['summary']).toBe('string');
    expect(Array.isArray(result['objects'])).toBe(true);
    expect(CAMERA_SEVERITIES).toContain(result['severity']);
    const broken = t.app.ctx.backends.get('broken')?.backend;
    expect(broken?.health()).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/refused by libmtmd/) });
  }, 120_000);

  it('images no model can take (1x1, 8000x8000) get a clear sarai/error before libmtmd; CMYK and alpha are converted and described; the bridge carries on', async () => {
    const errorFor = (topic: string) => probe.waitFor((m) => m.topic === 'sarai/error' && json(m)['topic'] === topic, 60_000, `sarai/error for ${topic}`);
    const tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 9, g: 9, b: 9 } } }).jpeg().toBuffer();
    await probe.publish('sarai/camera/porch/snapshot', tiny);
    expect(json(await errorFor('sarai/camera/porch/snapshot'))['error']).toMatch(/1x1 px is too small/);
    probe.clear();
    const huge = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: { r: 9, g: 9, b: 9 } } }).jpeg().toBuffer();
    await probe.publish('sarai/camera/porch/snapshot', huge);
    expect(json(await errorFor('sarai/camera/porch/snapshot'))['error']).toMatch(/pixel limit|too large|exceeds/i);
    // a CMYK JPEG and a PNG with alpha are converted to sRGB JPEG and described by omni
    const cmyk = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 250, g: 200, b: 10 } } }).jpeg().toColourspace('cmyk').toBuffer();
    await probe.publish('sarai/camera/yard/snapshot', cmyk);
    expect(json(await probe.waitForTopic('sarai/camera/yard/result', 90_000))).toMatchObject({ camera: 'yard', route: 'omni' });
    const alpha = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 10, g: 200, b: 90, alpha: 0.5 } } }).png().toBuffer();
    await probe.publish('sarai/camera/shed/snapshot', alpha);
    expect(json(await probe.waitForTopic('sarai/camera/shed/result', 90_000))).toMatchObject({ camera: 'shed', route: 'omni' });
  }, 240_000);

  it('a WAV on sarai/voice/<sat>/audio goes through the real audio encoder (omni transcribes)', async () => {
    await probe.publish('sarai/voice/kitchen/audio', espeakWav('turn on the lights'));
    const transcript = await probe.waitForTopic('sarai/voice/kitchen/transcript', 90_000);
    expect(transcript.payload.length).toBeGreaterThan(0);
    // no other role can hear (only omni and broken are configured): the transcript is omni's, through its audio encoder
    const omni = t.app.ctx.backends.get('omni')?.backend as MultimodalBackend | undefined;
    expect(omni?.multimodalSupport).toEqual({ vision: true, audio: true });
  }, 120_000);
});
