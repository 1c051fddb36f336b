import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubServer, sha256 } from '../fixtures/hub-server.js';
import { tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { tinyVisionMmproj } from '../fixtures/gguf/tiny-mtmd.js';
import { solidJpeg } from '../camera/helpers.js';
import { CAMERA_SEVERITIES } from '../../src/core/camera-schema.js';
import { makeTinyTts, makeTinyWhisper } from '../fixtures/onnx/index.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';

/**
 * Issue 12's first-start criterion: the default config, started as `npm start` starts it
 * (bin/sarai.js run, no config file, in a fresh folder), with HF_ENDPOINT at a local hub
 * stand-in that serves tiny files under the default line-up's file names: the bridge pulls
 * them all with progress in the log, on sarai/bridge/state and on /api/system; then a snapshot
 * gets camera JSON (objects, alert, severity) from the default vision role on the real libmtmd
 * runtime, with the pulled tiny GGUF + vision mmproj (random weights) in place of LFM2-VL-450M.
 * Needs dist/ (npm run build).
 */
const BIN = path.resolve('bin/sarai.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'sarai-first-start-'));
const hub = new HubServer();
const bodies = new Map<string, Buffer>();
let child: ChildProcess | undefined;
let stdout = '';
let visionBytes = 0;

beforeAll(async () => {
  const src = path.join(work, 'src');
  mkdirSync(src, { recursive: true });
  const gguf = readFileSync(tinyLlamaFile(path.join(src, 'tiny.gguf')));
  // the vision pair: a real (tiny, random) text GGUF and a vision projector libmtmd loads,
  // sent slowly (64 kB every 400 ms) so that progress shows in between
  const visionGguf = readFileSync(tinyLlamaFile(path.join(src, 'vision.gguf'), { nEmbd: 64 }));
  const mmproj = readFileSync(tinyVisionMmproj(path.join(src, 'vision-mmproj.gguf'), { projectionDim: 64 }));
  const whisper = await makeTinyWhisper(path.join(src, 'whisper'));
  const tts = await makeTinyTts(path.join(src, 'tts'));
  await hub.start();
  const put = (repo: string, file: string, body: Buffer, slow = false) => {
    hub.put(repo, file, { body, lfs: true, ...(slow ? { chunkDelayMs: 400 } : {}) });
    bodies.set(file, body);
  };
  put('LiquidAI/LFM2-1.2B-GGUF', 'LFM2-1.2B-Q4_K_M.gguf', gguf);
  put('ggml-org/embeddinggemma-300M-GGUF', 'embeddinggemma-300M-Q8_0.gguf', gguf);
  put('LiquidAI/LFM2-VL-450M-GGUF', 'LFM2-VL-450M-Q8_0.gguf', visionGguf, true);
  put('LiquidAI/LFM2-VL-450M-GGUF', 'mmproj-LFM2-VL-450M-Q8_0.gguf', mmproj, true);
  visionBytes = visionGguf.length + mmproj.length;
  hub.putFolder('Xenova/whisper-tiny.en', whisper.dir, { onnxSuffix: '_quantized' });
  hub.putFolder('Xenova/mms-tts-eng', tts.dir, { onnxSuffix: '_quantized' });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child?.once('exit', resolve));
  }
  await hub.stop();
  rmSync(work, { recursive: true, force: true });
});

async function connectProbe(url: string, deadline: number): Promise<MqttProbe> {
  for (;;) {
    try {
      return await MqttProbe.connect(url, ['sarai/bridge/state']);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('first start of the default line-up', () => {
  it('npm start pulls every missing file of the default roles from HF_ENDPOINT with progress', async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const cwd = path.join(work, 'fresh');
    mkdirSync(cwd);
    child = spawn(process.execPath, [BIN, 'run'], {
      cwd,
      env: {
        ...process.env,
        SARAI_CONFIG: '',
        HF_ENDPOINT: hub.url,
        SARAI__MQTT__EMBEDDED__PORT: String(mqttPort),
        SARAI__HTTP__HOST: '127.0.0.1',
        SARAI__HTTP__PORT: String(httpPort),
        SARAI__WYOMING__ENABLED: 'false',
        SARAI__RUNTIME__THREADS: '1',
        // random weights ramble: room for the grammar to close the camera JSON
        SARAI__MODELS__VISION__MAX_TOKENS: '512',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stdout += d.toString()));

    const probe = await connectProbe(`mqtt://127.0.0.1:${mqttPort}`, Date.now() + 60_000);
    try {
      const state = (m: { payload: Buffer }) => JSON.parse(m.payload.toString()) as { downloads?: Record<string, unknown>; models_notice?: string };
      // progress while the slow mmproj streams: bytes, percent below 100 and an ETA
      const during = await probe.waitFor((m) => {
        const d = state(m).downloads;
        return d?.['state'] === 'pulling' && typeof d['percent'] === 'number' && (d['percent'] as number) < 100 && d['eta_s'] !== undefined;
      }, 90_000, 'a pulling state with percent and ETA');
      const d = state(during).downloads ?? {};
      expect(d['files_total']).toBe(15); // 3 GGUF + mmproj + 7 whisper + 4 tts files (models/manifest.yaml)
      expect(d['total_bytes']).toBeGreaterThan(visionBytes);
      expect(state(during).models_notice).toBeUndefined();

      const done = await probe.waitFor((m) => state(m).downloads?.['state'] === 'done', 120_000, 'downloads done');
      expect(state(done).downloads).toMatchObject({ files_done: 15, percent: 100, failed: [] });
      expect(state(done).models_notice).toBeUndefined();

      const sys = (await (await fetch(`http://127.0.0.1:${httpPort}/api/system`)).json()) as { downloads?: Record<string, unknown> };
      expect(sys.downloads).toMatchObject({ state: 'done', files_done: 15 });

      const models = path.join(cwd, 'models');
      for (const [file, body] of bodies) expect(sha256(readFileSync(path.join(models, file))), file).toBe(sha256(body));
      for (const f of ['config.json', 'onnx/encoder_model_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx']) expect(existsSync(path.join(models, 'Xenova', 'whisper-tiny.en', f)), f).toBe(true);
      expect(existsSync(path.join(models, 'Xenova', 'mms-tts-eng', 'onnx', 'model_quantized.onnx'))).toBe(true);
      expect(stdout).toMatch(/first start: downloading 15 model file\(s\) for tiny, embedding, vision, stt, tts/);
      expect(stdout).toMatch(/"percent":[\d.]+,"eta_s":\d+,"msg":"downloading models"/);

      // the main job on the pulled line-up: a snapshot described by the vision role on libmtmd
      const cam = await MqttProbe.connect(`mqtt://127.0.0.1:${mqttPort}`, ['sarai/camera/#', 'sarai/error']);
      try {
        await cam.publish('sarai/camera/front_door/snapshot', await solidJpeg([200, 40, 30], { width: 64, height: 64 }));
        const res = await cam.waitForTopic('sarai/camera/front_door/result', 150_000);
        const result = JSON.parse(res.payload.toString()) as Record<string, unknown>;
        expect(result, JSON.stringify(cam.messages.filter((m) => m.topic === 'sarai/error').map((m) => m.payload.toString()))).toMatchObject({
          camera: 'front_door',
          route: 'vision',
          model: 'LFM2-VL-450M',
        });
        expect(result['fallback']).toBeUndefined();
        expect(typeof result['summary']).toBe('string');
        expect(Array.isArray(result['objects'])).toBe(true);
        expect(typeof result['alert']).toBe('boolean');
        expect(CAMERA_SEVERITIES).toContain(result['severity']);
      } finally {
        await cam.close();
      }
    } finally {
      await probe.close();
    }
  }, 400_000);
});
