import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractViolation } from '../../src/mqtt/input-topics.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';

describe('the input contract for camera and voice topics', () => {
  it('takes the contract shapes, lets SARAi outputs by, and names everything else', () => {
    const ok = ['camera/front/snapshot', 'camera/front/clip', 'camera/BAD-id/snapshot', 'voice/k/audio', 'voice/k/audio/chunk', 'voice/k/say', 'camera/front/result', 'voice/k/tts', 'voice//say'];
    for (const t of ok) expect(contractViolation(t.split('/')), t).toBeUndefined();
    const bad = ['camera/a/b/c/snapshot', 'camera/a/b/snapshot', 'voice/../x/audio', 'voice/a/b/say', 'camera', 'camera/front', 'voice/a/b/c/d/audio', 'camera/A B/result'];
    for (const t of bad) expect(contractViolation(t.split('/'))?.error, t).toMatch(/does not match the input contract|invalid (camera|satellite) id/);
    expect(contractViolation('voice/../x/audio'.split('/'))).toEqual({ source: 'voice', error: expect.stringMatching(/invalid satellite id "\.\.\/x"/) });
    expect(contractViolation('camera/a/b/c/snapshot'.split('/'))).toEqual({ source: 'camera.mqtt', error: expect.stringMatching(/invalid camera id "a\/b\/c"/) });
    expect(contractViolation('camera/front'.split('/'))?.source).toBe('input-topics');
  });
});

describe.skipIf(!haveMosquitto())('bad camera and voice topics on a real broker', { timeout: 120_000 }, () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    broker = await startMosquitto();
    app = await startTestApp({ mqtt: { url: broker.url } });
    probe = await MqttProbe.connect(broker.url, ['sarai/error'], 5);
  });
  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  const errorsFor = (topic: string): Record<string, string>[] =>
    probe.messages.map((m) => JSON.parse(m.payload.toString()) as Record<string, string>).filter((e) => e['topic'] === topic);

  it('each gets one error on sarai/error naming the topic, and a log line; outputs and good shapes are not reported by the guard', async () => {
    // SARAi's own outputs, as it publishes them: never bad input
    await probe.publish('sarai/camera/front/result', '{"summary":"x"}');
    await probe.publish('sarai/camera/front/image', Buffer.from([0xff, 0xd8]));
    await probe.publish('sarai/voice/kitchen/tts', Buffer.alloc(44));
    await probe.publish('sarai/voice/kitchen/response', '{}');
    const bad = ['sarai/camera/a/b/c/snapshot', 'sarai/voice/../x/audio', 'sarai/voice/a/b/say', 'sarai/camera/a/b/clip', 'sarai/voice/a/b/c/d/audio', 'sarai/camera/x'];
    for (const t of bad) await probe.publish(t, 'payload');
    // a contract shape with a bad id: the snapshot source reports it, once
    await probe.publish('sarai/camera/Bad-Id/snapshot', Buffer.from([0xff, 0xd8, 0xff]));
    for (const t of [...bad, 'sarai/camera/Bad-Id/snapshot']) {
      const e = await probe.waitFor((m) => (JSON.parse(m.payload.toString()) as { topic: string }).topic === t, 20_000, t);
      expect(JSON.parse(e.payload.toString())).toMatchObject({ topic: t, error: expect.any(String), ts: expect.any(String) });
      expect(app.logs.lines.some((l) => l['topic'] === t && l['msg'] === 'input rejected or failed')).toBe(true);
    }
    expect(errorsFor('sarai/camera/a/b/c/snapshot')[0]?.['error']).toMatch(/invalid camera id "a\/b\/c"/);
    expect(errorsFor('sarai/camera/x')[0]?.['error']).toMatch(/does not match the input contract/);
    // the bad-id snapshot: the source's own message, not a second one from the guard
    await expect.poll(() => errorsFor('sarai/camera/Bad-Id/snapshot').length, { timeout: 2_000 }).toBe(1);
    expect(errorsFor('sarai/camera/Bad-Id/snapshot')[0]?.['error']).toMatch(/invalid camera id/);
    for (const t of ['sarai/camera/front/result', 'sarai/camera/front/image', 'sarai/voice/kitchen/tts', 'sarai/voice/kitchen/response']) expect(errorsFor(t)).toEqual([]);
  });
});
