import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateResult } from '../../src/backends/types.js';
import { changeSince } from '../../src/camera/memory.js';
import type { ModelRouter, Routed } from '../../src/router/types.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { attachRouter, patternJpeg, timedRouter } from './helpers.js';

/** A router that records each prompt and answers the next scripted answer. */
function scriptedRouter(answers: Record<string, unknown>[]): ModelRouter & { prompts: string[] } {
  const prompts: string[] = [];
  return {
    ...timedRouter(0, () => ({})),
    prompts,
    async describe(req: Parameters<ModelRouter['describe']>[0]): Promise<Routed<GenerateResult>> {
      prompts.push(req.prompt ?? '');
      const json = answers.shift() ?? { summary: 'nothing', description: '', objects: [], alert: false, severity: 'none' };
      await Promise.resolve();
      return { value: { text: JSON.stringify(json), json, model: 'scripted', tokens: 1, latencyMs: 1 }, route: 'vision', reason: 'test', model: 'scripted', latencyMs: 1 };
    },
  };
}

describe('changeSince', () => {
  it('lists what is new and what left, case-insensitively, with the model words', () => {
    const prev = { id: 'a', summary: 's', objects: ['Parcel', 'person'], ts: '2026-01-01T00:00:00.000Z' };
    expect(changeSince(prev, ['person', 'car'], 'A car arrived; the parcel was taken.')).toEqual({
      since_id: 'a', since_ts: '2026-01-01T00:00:00.000Z', new: ['car'], left: ['Parcel'], text: 'A car arrived; the parcel was taken.',
    });
    expect(changeSince(prev, ['parcel', 'PERSON'], undefined)).toEqual({ since_id: 'a', since_ts: prev.ts, new: [], left: [] });
  });
});

describe.skipIf(!haveMosquitto())('camera memory: the previous accepted result as prompt context and the changed field (real mosquitto)', () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/camera/+/result']);
    app = await startTestApp({
      mqtt: { url: broker.url },
      cameras: { step: { cooldown_s: 0 }, busy_street: { cooldown_s: 0, memory: false } },
      camera_defaults: { cooldown_s: 0 },
      models: { vision: { backend: 'transformers', model: '/nonexistent', image_size: 128 } },
    });
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  const results = (camera: string) => probe.messages.filter((m) => m.topic === `sarai/camera/${camera}/result`).map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>);

  it('gives the model the previous summary and publishes what is new and what left', async () => {
    const router = scriptedRouter([
      { summary: 'A parcel lies on the step.', description: 'd', objects: ['parcel'], alert: false, severity: 'none' },
      { summary: 'The parcel is still on the step; a cat sits beside it.', description: 'd', objects: ['parcel', 'cat'], alert: false, severity: 'none', changed: 'A cat arrived.' },
      { summary: 'A cat on an empty step.', description: 'd', objects: ['cat'], alert: false, severity: 'none', changed: 'The parcel was taken.' },
    ]);
    attachRouter(app.app.ctx, router);
    for (const [i, seed] of [41, 42, 43].entries()) {
      await probe.publish('sarai/camera/step/snapshot', await patternJpeg(seed, 320, 240), { qos: 1 });
      await expect.poll(() => results('step').length, { timeout: 20_000 }).toBe(i + 1);
    }
    const [r1, r2, r3] = results('step');
    expect(router.prompts[0]).not.toContain('Earlier');
    expect(r1?.['changed']).toBeUndefined();
    expect(router.prompts[1]).toMatch(/Earlier \(less than a minute ago\) this camera showed: A parcel lies on the step\./);
    expect(r2?.['changed']).toEqual({ since_id: r1?.['id'], since_ts: r1?.['ts'], new: ['cat'], left: [], text: 'A cat arrived.' });
    expect(router.prompts[2]).toContain('this camera showed: The parcel is still on the step; a cat sits beside it.');
    expect(r3?.['changed']).toMatchObject({ since_id: r2?.['id'], new: [], left: ['parcel'], text: 'The parcel was taken.' });
  });

  it('leaves a camera with memory: false alone: no context, no changed', async () => {
    const router = scriptedRouter([
      { summary: 'Cars pass.', description: 'd', objects: ['car'], alert: false, severity: 'none' },
      { summary: 'A bus passes.', description: 'd', objects: ['bus'], alert: false, severity: 'none', changed: 'ignored' },
    ]);
    attachRouter(app.app.ctx, router);
    for (const [i, seed] of [51, 52].entries()) {
      await probe.publish('sarai/camera/busy_street/snapshot', await patternJpeg(seed, 320, 240), { qos: 1 });
      await expect.poll(() => results('busy_street').length, { timeout: 20_000 }).toBe(i + 1);
    }
    expect(router.prompts.some((p) => p.includes('Earlier'))).toBe(false);
    expect(results('busy_street').map((r) => r['changed'])).toEqual([undefined, undefined]);
  });
});
