/**
 * The broker's per-message cost of a shared subscription (`$share/g/...`, one member) against a
 * plain one, measured in the caller's run (raw mqtt.js clients, small QoS 1 messages).
 * The publisher keeps at most WINDOW messages unreceived: a burst of thousands overflows
 * mosquitto's per-client queue (max_queued_messages, 1000 by default) when the subscriber falls
 * behind on a loaded machine, the broker drops the rest, and a wait for all of them never ends
 * (why bench/cluster-pool.ts once did not finish this part within 300 s).
 */
import mqtt from 'mqtt';

const WINDOW = 100;
const DEADLINE_MS = 30_000;

/** Mean time per message (µs), publisher -> subscriber through the broker, for one filter. */
async function perMessageUs(url: string, filter: string, topic: string, messages: number): Promise<number> {
  const sub = await mqtt.connectAsync(url, { protocolVersion: 5 });
  const pub = await mqtt.connectAsync(url, { protocolVersion: 5 });
  try {
    await sub.subscribeAsync(filter, { qos: 1 });
    let got = 0;
    let sent = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${filter}: ${got} of ${messages} messages within ${DEADLINE_MS} ms (dropped by the broker?)`)), DEADLINE_MS);
      const fill = () => {
        while (sent < messages && sent - got < WINDOW) pub.publish(topic, `m${sent++}`, { qos: 1 });
      };
      sub.on('message', () => {
        if (++got === messages) {
          clearTimeout(timer);
          resolve();
        } else fill();
      });
      fill();
    });
    return ((performance.now() - t0) * 1000) / messages;
  } finally {
    await sub.endAsync(true);
    await pub.endAsync(true);
  }
}

/**
 * Plain vs shared, alternated after a warm-up, best of `runs` each (the machine is shared and
 * loaded). Returns the line to print.
 */
export async function shareOverheadLine(url: string, messages = 5_000, runs = 3): Promise<string> {
  await perMessageUs(url, 'warm/t', 'warm/t', messages);
  const plain: number[] = [];
  const shared: number[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await perMessageUs(url, 'plain/t', 'plain/t', messages));
    shared.push(await perMessageUs(url, '$share/g/shared/t', 'shared/t', messages));
  }
  const p = Math.min(...plain);
  const sh = Math.min(...shared);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join('/');
  return `Broker per-message cost, ${messages} QoS 1 messages (at most ${WINDOW} unreceived), one subscriber, best of ${runs}: plain ${p.toFixed(1)} µs, shared ${sh.toFixed(1)} µs: shared overhead ${(sh - p).toFixed(1)} µs per message (runs: plain ${list(plain)}, shared ${list(shared)})`;
}
