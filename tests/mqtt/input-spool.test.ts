import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';
import { createLogger } from '../../src/log/logger.js';
import { MqttBridge } from '../../src/mqtt/client.js';
import { isSpooledInput } from '../../src/mqtt/input-topics.js';
import { InputSpool } from '../../src/mqtt/input-spool.js';
import { letGoOfCurrentInput, Receipt, withReceipt } from '../../src/mqtt/receipt.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Job } from '../../src/scheduler/job.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sarai-spool-'));
const log = createLogger('silent');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const spoolIn = (name: string, maxBytes = 1 << 20, maxAgeMs = 3_600_000) => new InputSpool({ dir: path.join(tmp, name), maxAgeMs, maxBytes }, log, new Registry());
const files = (name: string) => readdirSync(path.join(tmp, name)).sort();

describe('InputSpool', () => {
  it('keeps an input on disk until finished; the next open returns the unfinished ones in arrival order, bytes and properties intact', () => {
    const a = spoolIn('order');
    expect(a.open(() => undefined)).toEqual([]);
    const payload = Buffer.from([0xff, 0xd8, 0x0a, 0x00, 0x0a]); // newlines in the payload too
    const f1 = a.accept('sarai/camera/a/snapshot', payload, { ts: '1700000000000' });
    const f2 = a.accept('sarai/camera/b/snapshot', Buffer.from('two'));
    const f3 = a.accept('sarai/camera/c/clip', Buffer.from('three'));
    expect([f1, f2, f3].every(Boolean)).toBe(true);
    a.finish(f2 as string);
    expect(files('order')).toHaveLength(2);
    const b = spoolIn('order');
    const left = b.open(() => undefined);
    expect(left.map((l) => l.topic)).toEqual(['sarai/camera/a/snapshot', 'sarai/camera/c/clip']);
    expect(left[0]?.payload.equals(payload)).toBe(true);
    expect(left[0]?.userProperties).toEqual({ ts: '1700000000000' });
    expect(b.size).toBe(2);
    for (const l of left) b.finish(l.file);
    expect(files('order')).toEqual([]);
  });

  it('at open: a half-written file (killed mid-write, never acknowledged) and an unreadable one are removed; one older than the max age is reported, not returned', () => {
    const a = spoolIn('junk', 1 << 20, 60_000);
    a.open(() => undefined);
    const old = a.accept('sarai/camera/old/snapshot', Buffer.from('x')) as string;
    writeFileSync(path.join(tmp, 'junk', '00000000000001-00000000-1.in.tmp'), 'half');
    writeFileSync(path.join(tmp, 'junk', '00000000000002-00000000-1.in'), 'no header line');
    // its header says when it was accepted: rewrite it two minutes back
    const back = Date.now() - 120_000;
    writeFileSync(old, Buffer.concat([Buffer.from(`${JSON.stringify({ topic: 'sarai/camera/old/snapshot', receivedMs: back })}\n`), Buffer.from('x')]));
    const stale: [string, number][] = [];
    const left = spoolIn('junk', 1 << 20, 60_000).open((input, age) => stale.push([input.topic, age]));
    expect(left).toEqual([]);
    expect(stale).toHaveLength(1);
    expect(stale[0]?.[0]).toBe('sarai/camera/old/snapshot');
    expect(stale[0]?.[1]).toBeGreaterThan(60_000);
    expect(files('junk')).toEqual([]);
  });

  it('is bounded: past max bytes an input is taken without a copy, and spooling resumes once it drains', () => {
    const a = spoolIn('full', 10);
    a.open(() => undefined);
    const f = a.accept('t/a', Buffer.alloc(8)) as string;
    expect(a.accept('t/b', Buffer.alloc(8))).toBeUndefined();
    a.finish(f);
    expect(a.accept('t/c', Buffer.alloc(8))).toBeDefined();
  });
});

describe('receipts: a spooled input is finished when every job it queued has ended', () => {
  const job = (source: string, run: Job['run'], coalesce = false): Job => ({ kind: 'snapshot', source, bytes: 1, coalesce, run });
  const never = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

  it('completed, coalesced and refused-for-capacity inputs finish; waiting and aborted ones at stop are kept for the next start', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueuePerSource: 1, maxQueuedBytes: 1 << 20 }, new Registry(), log);
    const ends: Record<string, boolean> = {};
    const receipt = (name: string) => new Receipt((kept) => (ends[name] = kept));
    const submit = (name: string, j: Job) => {
      const r = receipt(name);
      try {
        withReceipt(r, () => s.submit(j));
      } catch (err) {
        if (!(err instanceof CapacityError)) throw err;
      }
      r.settle(); // the handler returned
    };
    let finishFirst: () => void = () => undefined;
    submit('done', job('a', () => new Promise((r) => (finishFirst = () => r('completed')))));
    submit('replaced', job('b', async () => 'completed', true));
    submit('newest', job('b', never, true)); // coalesces 'replaced' away, then waits
    expect(ends).toEqual({ replaced: false });
    submit('waiting', job('c', async () => 'completed'));
    submit('over', job('c', async () => 'completed')); // maxQueuePerSource 1: dropped at submit
    expect(ends).toEqual({ replaced: false, over: false });
    finishFirst();
    await new Promise((r) => setTimeout(r, 20));
    // 'newest' (queued first) now runs and never ends by itself; 'waiting' waits behind it
    expect(ends).toEqual({ replaced: false, over: false, done: false });
    await s.stop();
    // shutdown: the waiting one was dropped and the running one aborted: both stay spooled
    expect(ends).toEqual({ replaced: false, over: false, done: false, waiting: true, newest: true });
  });

  it('a handler can let go of its input (a live "capture now" is not run again later): forgotten at once, its job runs on', async () => {
    const s = new Scheduler({ concurrency: 1, maxQueuePerSource: 4, maxQueuedBytes: 1 << 20 }, new Registry(), log);
    let ended: boolean | undefined;
    let ran = false;
    const r = new Receipt((kept) => (ended = kept));
    withReceipt(r, () => {
      letGoOfCurrentInput();
      s.submit(job('cam', async () => ((ran = true), 'completed')));
    });
    r.settle();
    expect(ended).toBe(false);
    await s.idle();
    expect(ran).toBe(true);
    await s.stop();
  });
});

describe.skipIf(!haveMosquitto())('MqttBridge and the spool, on mosquitto', () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const bridge = (spoolDir: string) =>
    new MqttBridge(
      {
        url: broker.url, clientId: 'sarai_spool_held', sessionExpiryS: 300, baseTopic: 'sarai', protocolVersion: 5, keepaliveS: 30, reconnectMaxMs: 2000, maxPayloadBytes: 1 << 20,
        spool: { dir: spoolDir, maxAgeMs: 3_600_000, maxBytes: 1 << 20, isInput: (t) => isSpooledInput('sarai', t) },
      },
      log,
      new Metrics(),
    );

  it('what a resumed session delivers before the features subscribe is spooled too: killed then, the next start runs it', async () => {
    const spoolDir = path.join(tmp, 'held');
    const first = bridge(spoolDir);
    await first.connect();
    first.subscribe('sarai/camera/#', 'camera', () => undefined, 1);
    await first.subscriptionsSettled();
    first.keepSessionOnStop();
    await first.close();
    // SARAi is away: a camera publishes at QoS 1 (the broker keeps it for the session)
    const camera = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    await camera.publishAsync('sarai/camera/porch/snapshot', Buffer.from('jpeg bytes'), { qos: 1 });
    await camera.publishAsync('sarai/camera/porch/result', Buffer.from('{}'), { qos: 1 }); // not an input: not spooled
    await camera.endAsync();
    // it starts again; the session delivers before any feature has subscribed, and it dies there
    const second = bridge(spoolDir);
    await second.connect();
    await expect.poll(() => readdirSync(spoolDir).filter((f) => f.endsWith('.in')).length, { timeout: 5000 }).toBe(1);
    await second.close(); // no deliverHeld(): as if killed while starting
    const third = bridge(spoolDir);
    const got: string[] = [];
    await third.connect();
    third.subscribe('sarai/camera/#', 'camera', (m) => void got.push(`${m.topic}=${m.payload.toString()}`), 1);
    third.deliverHeld();
    await expect.poll(() => got, { timeout: 5000 }).toEqual(['sarai/camera/porch/snapshot=jpeg bytes']);
    await expect.poll(() => readdirSync(spoolDir).filter((f) => f.endsWith('.in')), { timeout: 5000 }).toEqual([]);
    await third.close();
  }, 30_000);
});
