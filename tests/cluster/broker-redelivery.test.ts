import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';

/**
 * What the real broker (mosquitto 2.0.x, MQTT 5) does with a shared subscription member that
 * dies holding unacknowledged QoS 1 messages: the facts docs/DESIGN.md "When one box is not
 * enough" builds on. Member A never acknowledges (as if SIGKILLed before its PUBACK), B does.
 * - persistent session (clean: false, session expiry): nothing goes to B; what A held, and what
 *   the group keeps routing to A's session while it is dead, comes back when a process with A's
 *   client id reconnects. Nothing is lost, but only once A comes back.
 * - clean session: what A held is dropped (lost); new messages go to B.
 * - mqtt.js with customHandleAcks holding the PUBACK stops reading the connection: A sees only
 *   its first message (so deferring the ack until a job is done serialises a worker).
 */
const N = 20;
const MORE = 10;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(25);
  }
}

describe.skipIf(!haveMosquitto())('mosquitto: a shared-subscription member that dies with unacked QoS 1 messages', () => {
  let broker: Mosquitto;
  const clients: MqttClient[] = [];
  beforeEach(async () => {
    broker = await startMosquitto();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await broker.stop();
  });

  function member(id: string, persistent: boolean, ack: boolean, seen: string[]): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const c = mqtt.connect(broker.url, {
        clientId: id,
        protocolVersion: 5,
        clean: !persistent,
        ...(persistent ? { properties: { sessionExpiryInterval: 300 } } : {}),
        reconnectPeriod: 0,
        customHandleAcks: (_topic, payload, _packet, done) => {
          seen.push(payload.toString());
          if (ack) done(0);
        },
      });
      clients.push(c);
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  }

  async function scenario(persistent: boolean) {
    const a: string[] = [];
    const b: string[] = [];
    const a2: string[] = [];
    const A = await member('member_a', persistent, false, a);
    const B = await member('member_b', persistent, true, b);
    await A.subscribeAsync('$share/g/jobs', { qos: 1 });
    await B.subscribeAsync('$share/g/jobs', { qos: 1 });
    const P = await member('producer', false, true, []);
    for (let i = 0; i < N; i++) await P.publishAsync('jobs', String(i), { qos: 1 });
    await until(() => b.length >= N / 2, 'B to get its half');
    await settle(300); // what else the broker would send arrives now
    const aHeld = N - b.length;
    // die without DISCONNECT (what SIGKILL does): the broker sees the socket close
    A.stream.destroy();
    A.end(true);
    await settle(500);
    const bBefore = b.length;
    for (let i = N; i < N + MORE; i++) await P.publishAsync('jobs', String(i), { qos: 1 });
    // B gets at least half of the new ones either way; then give the rest time to show up
    await until(() => b.length >= bBefore + MORE / 2, 'B to get new messages');
    if (!persistent) await until(() => b.length >= bBefore + MORE, 'B to get every new message');
    await settle(300);
    const bAfterDeath = b.slice(bBefore);
    const A2 = await member('member_a', persistent, true, a2);
    if (!persistent) await A2.subscribeAsync('$share/g/jobs', { qos: 1 });
    if (persistent) await until(() => a2.length >= N / 2 + MORE / 2, 'the restarted member to get its backlog');
    await settle(300);
    return { a, b, a2, aHeld, bAfterDeath };
  }

  it('persistent session: the dead member\'s messages wait for its client id and all come back to it; none go to the others', async () => {
    const r = await scenario(true);
    expect(r.a).toEqual(['0']); // a held PUBACK stops mqtt.js reading: one message seen
    expect(r.aHeld).toBe(N / 2);
    expect(r.bAfterDeath).toHaveLength(MORE / 2); // round robin goes on to the dead session
    const delivered = new Set([...r.b, ...r.a2]);
    expect(delivered.size).toBe(N + MORE);
    expect(r.a2.filter((x) => r.b.includes(x))).toEqual([]); // not redelivered to B before
  }, 60_000);

  it('clean session: the dead member\'s unacked messages are dropped', async () => {
    const r = await scenario(false);
    expect(r.aHeld).toBe(N / 2);
    expect(r.bAfterDeath).toHaveLength(MORE); // all new messages to the live member
    expect(r.a2).toEqual([]);
    const delivered = new Set([...r.b, ...r.a2]);
    expect(delivered.size).toBe(N + MORE - N / 2);
  }, 60_000);
});
