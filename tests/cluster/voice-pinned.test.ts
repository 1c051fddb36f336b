import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe, type Received } from '../helpers/mqtt-probe.js';

const json = (m: Received) => JSON.parse(m.payload.toString()) as Record<string, unknown>;

/**
 * Voice shares the unshared catch-all `voice/#` with streams, so every worker receives every
 * voice message; only the cluster.voice_streams worker may handle it, or N workers would answer
 * one utterance N times.
 */
describe.skipIf(!haveMosquitto())('cluster mode: voice audio is the voice_streams worker\'s alone (real mosquitto)', () => {
  let broker: Mosquitto;
  let probe: MqttProbe;
  const workers: TestApp[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#'], 5);
    for (const [id, voiceStreams] of [['v1', true], ['v2', false]] as const) {
      workers.push(await startTestApp({
        mqtt: { url: broker.url },
        cluster: { group: 'house', worker_id: id, voice_streams: voiceStreams },
        voice: { enabled: true },
      }));
      await probe.waitForTopic(`sarai/worker/${id}/status`, 20_000, (m) => m.payload.toString() === 'online');
    }
  }, 60_000);

  afterAll(async () => {
    await probe?.close();
    for (const w of workers) await w.stop();
    await broker?.stop();
  });

  it('a bad WAV is reported once (by the voice worker), not once per worker; camera/# stays shared', async () => {
    const isError = (topic: string) => (m: Received) => m.topic === 'sarai/error' && json(m)['topic'] === topic;
    await probe.client.publishAsync('sarai/voice/kitchen/audio', Buffer.from('not a wav at all'), { qos: 1 });
    await probe.waitFor(isError('sarai/voice/kitchen/audio'), 20_000, 'voice error');
    // a barrier both workers see after the WAV: a malformed voice topic, reported by every
    // worker's InputTopicGuard (voice/# is not shared)
    await probe.client.publishAsync('sarai/voice/a/b/c/d/e', 'x', { qos: 1 });
    await probe.waitFor((m) => probe.messages.filter(isError('sarai/voice/a/b/c/d/e')).length >= 2 && m.topic === 'sarai/error', 20_000, 'guard errors from both workers');
    // a malformed camera topic: camera/# is shared, so one worker's guard reports it
    await probe.client.publishAsync('sarai/camera/a/b/c/d', 'x', { qos: 1 });
    await probe.waitFor(isError('sarai/camera/a/b/c/d'), 20_000, 'camera guard error');
    await probe.client.publishAsync('sarai/voice/z/y/x/w/v', 'x', { qos: 1 });
    await probe.waitFor((m) => probe.messages.filter(isError('sarai/voice/z/y/x/w/v')).length >= 2 && m.topic === 'sarai/error', 20_000, 'second barrier');
    expect(probe.messages.filter(isError('sarai/voice/kitchen/audio'))).toHaveLength(1);
    expect(probe.messages.filter(isError('sarai/camera/a/b/c/d'))).toHaveLength(1);
  }, 60_000);
});
