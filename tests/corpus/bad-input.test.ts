import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ConfigError } from '../../src/config/errors.js';
import { configFromObject, parseYaml } from '../../src/config/load.js';
import { GgufPreflightError, preflightGguf } from '../../src/models/gguf-preflight.js';
import { attachRouter, patternJpeg, timedRouter } from '../camera/helpers.js';
import { tempModelDir } from '../fixtures/gguf/tiny-llama.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';
import { corpus, type Case } from './cases.js';

/** What the Wyoming server sends back to `bytes` before it closes or goes quiet (an `error` event ends it). */
function wyomingReply(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let got = '';
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(got);
    };
    const t = setTimeout(() => reject(new Error(`no error event and no close within 20 s; got ${JSON.stringify(got.slice(0, 200))}`)), 20_000);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('"type":"error"') || got.includes('"type": "error"')) done();
    });
    s.on('close', done);
    s.on('error', () => undefined);
  });
}

const jpeg = await patternJpeg(4242, 160, 120);
const png = await sharp(jpeg).png().toBuffer();
const CASES = corpus(jpeg, png);

describe.skipIf(!haveMosquitto())(`the bad-input corpus (${CASES.length} cases): each gets its exact error, and a normal snapshot is still described`, () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let asrPort: number;
  let seq = 0;
  const models = tempModelDir('sarai-corpus-');

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    asrPort = await freePort();
    app = await startTestApp({
      mqtt: { url: broker.url, max_payload_mb: 4 },
      camera_defaults: { cooldown_s: 0, max_image_mb: 1 },
      cameras: { porch: { rtsp_url: 'rtsp://127.0.0.1:9/never-reached' } }, // clip seconds are checked against it
      frigate: { enabled: true },
      voice: { max_utterance_s: 2 },
      wyoming: { enabled: true, host: '127.0.0.1', asr_port: asrPort, tts_port: await freePort(), handle_port: await freePort(), announce: false },
    });
    attachRouter(app.app.ctx, timedRouter(0, (n) => ({ summary: `scene ${n}`, description: 'd', objects: [], alert: false, severity: 'none' })));
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
    models.cleanup();
  });

  /** The bridge still works: a fresh scene on a good camera is described. */
  async function stillDescribes(): Promise<void> {
    const before = probe.messages.filter((m) => m.topic === 'sarai/camera/healthy/result').length;
    await probe.publish('sarai/camera/healthy/snapshot', await patternJpeg(10_000 + ++seq, 64, 48));
    await expect.poll(() => probe.messages.filter((m) => m.topic === 'sarai/camera/healthy/result').length, { timeout: 20_000 }).toBeGreaterThan(before);
  }

  async function outcome(c: Case): Promise<void> {
    switch (c.kind) {
      case 'mqtt': {
        const topic = c.errorTopic ?? c.topic;
        const from = probe.messages.length;
        await probe.publish(c.topic, c.payload);
        if (c.then) await probe.publish(c.then.topic, c.then.payload);
        await expect
          .poll(() => probe.messages.slice(from).filter((m) => m.topic === 'sarai/error').map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>), { timeout: 20_000 })
          .toContainEqual(expect.objectContaining({ source: c.source, topic, error: expect.stringMatching(c.error) as unknown, ts: expect.any(String) as unknown }));
        return;
      }
      case 'http': {
        const res = await fetch(`http://127.0.0.1:${app.app.ctx.http.port}${c.path}`, { method: c.method, ...(c.body !== undefined ? { body: c.body } : {}), ...(c.headers ? { headers: c.headers } : {}) });
        const text = await res.text();
        expect(res.status, text.slice(0, 200)).toBe(c.status);
        return;
      }
      case 'wyoming':
        expect(await wyomingReply(asrPort, c.bytes)).toMatch(c.reply);
        return;
      case 'config':
        expect(() => configFromObject(parseYaml(c.yaml, 'corpus.yaml'), 'corpus.yaml')).toThrow(ConfigError);
        expect(() => configFromObject(parseYaml(c.yaml, 'corpus.yaml'), 'corpus.yaml')).toThrow(c.error);
        return;
      case 'model': {
        const file = path.join(models.dir, `${seq++}.gguf`);
        writeFileSync(file, c.bytes);
        expect(() => preflightGguf(file)).toThrow(GgufPreflightError);
        expect(() => preflightGguf(file)).toThrow(c.error);
        return;
      }
    }
  }

  it('holds at least 80 named cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(80);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  for (const c of CASES) {
    const run = c.kind === 'mqtt' && c.issue17 ? it.skip : it;
    run(c.kind === 'mqtt' && c.issue17 ? `${c.name} (covered by issue 17: ${c.issue17})` : c.name, async () => {
      await outcome(c);
      await stillDescribes();
    }, 60_000);
  }
});
