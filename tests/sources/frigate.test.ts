import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorReport } from '../../src/core/results.js';
import { FrigateApiServer } from '../fixtures/frigate-api-server.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { attachRouter, solidJpeg, timedRouter } from '../camera/helpers.js';

const run = haveMosquitto();

/** A `frigate/events` message shaped as Frigate documents it. */
function frigateEvent(type: 'new' | 'update' | 'end', after: Record<string, unknown>): string {
  const base = {
    id: '1607123955.475377-mxklsc', camera: 'front_door', frame_time: 1607123961.837752, snapshot_time: 1607123961.837752, label: 'person',
    sub_label: null, top_score: 0.958, false_positive: false, start_time: 1607123955.475377, end_time: type === 'end' ? 1607123965.1 : null,
    score: 0.95, box: [424, 500, 536, 712], area: 23688, ratio: 2.113, region: [264, 450, 667, 853], stationary: false, motionless_count: 0,
    position_changes: 2, current_zones: ['driveway'], entered_zones: ['yard', 'driveway'], has_clip: true, has_snapshot: true, attributes: {},
    current_attributes: [],
  };
  return JSON.stringify({ type, before: { ...base, ...after, current_zones: [] }, after: { ...base, ...after } });
}

describe.skipIf(!run)('Frigate source over real mosquitto', () => {
  let broker: Mosquitto;
  let app: TestApp;
  let probe: MqttProbe;
  let router: ReturnType<typeof timedRouter>;
  let stale: Buffer;
  let live: Buffer;

  beforeAll(async () => {
    broker = await startMosquitto();
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    stale = await solidJpeg([250, 0, 0]);
    live = await solidJpeg([0, 0, 250]);
    // Frigate's retained snapshot from before we started: must never be described.
    await probe.publish('frigate/front_door/person/snapshot', stale, { retain: true });
    app = await startTestApp({
      mqtt: { url: broker.url },
      frigate: { enabled: true },
      cameras: { front_door: { cooldown_s: 0, alert_zones: ['porch'] } },
      scheduler: { dedup_distance: 0 },
    });
    router = timedRouter(0, (n) => ({ summary: `A person on the driveway (${n})`, description: 'A person walks up the driveway.', objects: ['person'], alert: false, severity: 'none' }));
    attachRouter(app.app.ctx, router);
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await broker?.stop();
  });

  const results = () => probe.messages.filter((m) => m.topic === 'sarai/camera/front_door/result').map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>);

  it('describes a new event with its live snapshot, once per tracked object, with label, zones and event id', async () => {
    await probe.publish('frigate/reviews', JSON.stringify({
      type: 'new',
      before: { id: 'r1', camera: 'front_door', start_time: 1, end_time: null, severity: 'alert', thumb_path: '/x', data: { detections: [], objects: [], sub_labels: [], zones: [], audio: [] } },
      after: { id: 'r1', camera: 'front_door', start_time: 1, end_time: null, severity: 'alert', thumb_path: '/x', data: { detections: ['1607123955.475377-mxklsc'], objects: ['person'], sub_labels: [], zones: ['driveway'], audio: [] } },
    }));
    await probe.publish('frigate/events', frigateEvent('new', {}));
    await probe.publish('frigate/front_door/person/snapshot', live);
    const res = await probe.waitForTopic('sarai/camera/front_door/result', 10_000);
    const r = JSON.parse(res.payload.toString()) as Record<string, unknown>;
    expect(r).toMatchObject({ source: 'frigate', label: 'person', zones: ['driveway'], frigate_event_id: '1607123955.475377-mxklsc', event_type: 'person', alert: true });
    const img = await probe.waitForTopic('sarai/camera/front_door/image');
    // the described image is the live one (blue), re-encoded; never the retained red one
    const { default: sharp } = await import('sharp');
    const stats = await sharp(img.payload).stats();
    expect(stats.channels[2]?.mean).toBeGreaterThan(200);
    expect(stats.channels[0]?.mean).toBeLessThan(50);

    // updates without a material change: no second description
    await probe.publish('frigate/events', frigateEvent('update', { score: 0.97 }));
    await probe.publish('frigate/events', frigateEvent('update', { current_zones: ['driveway'] }));
    // end after entering a new zone: described again
    await probe.publish('frigate/events', frigateEvent('end', { current_zones: ['porch'], entered_zones: ['yard', 'driveway', 'porch'] }));
    await probe.publish('frigate/front_door/person/snapshot', live);
    await probe.waitFor((m) => m.topic === 'sarai/camera/front_door/result' && (JSON.parse(m.payload.toString()) as { zones?: string[] }).zones?.[0] === 'porch', 10_000, 'second result');
    expect(results()).toHaveLength(2);
    expect(router.calls).toBe(2);
  });

  it('ignores a snapshot-less event and reports events with missing fields on sarai/error', async () => {
    probe.clear();
    await probe.publish('frigate/events', frigateEvent('new', { id: 'no-snap', has_snapshot: false }));
    await probe.publish('frigate/events', JSON.stringify({ type: 'new', before: {}, after: { id: 'x1', label: 'person' } }));
    const err = await probe.waitForTopic('sarai/error', 5_000);
    expect(JSON.parse(err.payload.toString())).toMatchObject({ source: 'frigate', topic: 'frigate/events', error: expect.stringContaining('after.camera') });
    await probe.publish('frigate/events', 'not json');
    await probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes('not JSON'), 5_000, 'not-JSON error');
    await probe.publish('frigate/reviews', JSON.stringify({ type: 'new', after: { camera: 'front_door', severity: 'bogus' } }));
    await probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes('severity'), 5_000, 'review error');
  });

  it('rejects a Frigate camera name that is not a valid id without building a topic from it', async () => {
    probe.clear();
    await probe.publish('frigate/events', frigateEvent('new', { id: 'bad-cam', camera: 'Front Door/../x' }));
    await probe.publish('frigate/Front Door/../x/person/snapshot', live);
    const err = await probe.waitForTopic('sarai/error', 5_000);
    expect(JSON.parse(err.payload.toString())).toMatchObject({ source: 'frigate', topic: 'frigate/events', error: expect.stringContaining('invalid camera id') });
    expect(probe.messages.some((m) => m.topic.includes('Front'))).toBe(false);
  });
});

describe.skipIf(!run)('Frigate descriptions written back to Frigate (frigate.api_url)', () => {
  const known = '1607123955.475377-mxklsc';
  let broker: Mosquitto;
  let frigate: FrigateApiServer;
  let app: TestApp;
  let probe: MqttProbe;
  let live: Buffer;

  beforeAll(async () => {
    [broker, frigate] = await Promise.all([startMosquitto(), FrigateApiServer.start([known, '1607124000.000001-second'])]);
    probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    live = await solidJpeg([0, 0, 250]);
    app = await startTestApp({
      mqtt: { url: broker.url },
      frigate: { enabled: true, api_url: `${frigate.url}/` },
      cameras: { front_door: { cooldown_s: 0 } },
      scheduler: { dedup_distance: 0 },
    });
    attachRouter(app.app.ctx, timedRouter(0, () => ({ summary: 'A courier at the door', description: 'A courier in a red jacket leaves a parcel on the porch.', objects: ['person', 'package'], alert: false, severity: 'none' })));
  }, 30_000);

  afterAll(async () => {
    await probe?.close();
    await app?.stop();
    await Promise.all([broker?.stop(), frigate?.close()]);
  });

  const describeEvent = async (id: string) => {
    await probe.publish('frigate/events', frigateEvent('new', { id }));
    await probe.publish('frigate/front_door/person/snapshot', live);
    return probe.waitFor((m) => m.topic === 'sarai/camera/front_door/result' && (JSON.parse(m.payload.toString()) as { frigate_event_id?: string }).frigate_event_id === id, 10_000, `result for ${id}`);
  };
  const frigateError = (id: string) =>
    probe.waitFor((m) => m.topic === 'sarai/error' && m.payload.toString().includes(id), 10_000, `error for ${id}`).then((m) => JSON.parse(m.payload.toString()) as ErrorReport);

  it('POSTs the description to /api/events/<id>/description, as Frigate GenAI does, and Frigate shows it', async () => {
    await describeEvent(known);
    await expect.poll(() => frigate.descriptionPosts().length, { timeout: 5_000 }).toBe(1);
    const post = frigate.descriptionPosts()[0];
    expect(post).toMatchObject({ path: `/api/events/${known}/description`, body: { description: 'A courier in a red jacket leaves a parcel on the porch.' } });
    expect(post?.headers['content-type']).toBe('application/json');
    const shown = (await (await fetch(`${frigate.url}/api/events/${known}`)).json()) as { data: { description?: string } };
    expect(shown.data.description).toBe('A courier in a red jacket leaves a parcel on the porch.');
  });

  it("an event Frigate does not know is reported with Frigate's own message; the result still reached HA", async () => {
    const unknown = '1607123999.000000-zzzzzz';
    await describeEvent(unknown);
    const err = await frigateError(unknown);
    expect(err).toMatchObject({ source: 'frigate', topic: `${frigate.url}/api/events/${unknown}/description` });
    expect(err.error).toBe(`Frigate refused the description of event ${unknown}: HTTP 404: Event ${unknown} not found`);
  });

  it('an event id that is not shaped like a Frigate id never becomes a URL', async () => {
    const requests = frigate.peer.requests.length;
    const bad = '../../api/config?x=1';
    await describeEvent(bad);
    expect((await frigateError(bad)).error).toBe(`not a Frigate event id: ${JSON.stringify(bad)}`);
    expect(frigate.peer.requests.length).toBe(requests);
  });

  it('an unreachable Frigate is a clear error, and the next event is written once it is back', async () => {
    await frigate.peer.kill();
    const down = '1607124000.000000-down';
    await describeEvent(down);
    expect((await frigateError(down)).error).toMatch(new RegExp(`^could not reach Frigate at ${frigate.url} to describe event ${down}: ECONNREFUSED \\(check frigate.api_url\\)$`));
    await frigate.peer.revive();
    const before = frigate.descriptionPosts().length;
    await describeEvent('1607124000.000001-second');
    await expect.poll(() => frigate.descriptionPosts().length, { timeout: 5_000 }).toBe(before + 1);
    expect(frigate.events.get('1607124000.000001-second')?.description).toMatch(/courier/);
  });
});
