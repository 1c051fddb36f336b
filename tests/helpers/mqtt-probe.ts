import mqtt, { type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** The QoS it was delivered at: min(publisher's, the probe's subscription QoS 1). */
  qos: 0 | 1 | 2;
}

/**
 * A plain MQTT client for tests: subscribes, records every message, and waits for the one
 * that matches. `waitFor` rejects after `timeoutMs` with what it did see.
 */
export class MqttProbe {
  readonly messages: Received[] = [];
  /** Keeps only the newest `keep` messages: a load generator that runs for an hour must not hoard them. */
  keep = Infinity;
  private waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m = { topic, payload, retain: packet.retain, qos: packet.qos };
      this.messages.push(m);
      if (this.messages.length > this.keep) this.messages.splice(0, this.messages.length - this.keep);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(url: string, filters: string[] = ['#'], protocolVersion: 4 | 5 = 4): Promise<MqttProbe> {
    const client = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0, clientId: `probe_${Math.random().toString(16).slice(2)}` });
    const probe = new MqttProbe(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return probe;
  }

  find(pred: (m: Received) => boolean): Received | undefined {
    return this.messages.find(pred);
  }

  waitFor(pred: (m: Received) => boolean, timeoutMs = 10_000, label = 'message'): Promise<Received> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        const topics = [...new Set(this.messages.map((m) => m.topic))].slice(-30).join(', ');
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}; saw topics: ${topics}`));
      }, timeoutMs);
      const done = (m: Received) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  waitForTopic(topic: string, timeoutMs?: number, pred: (m: Received) => boolean = () => true): Promise<Received> {
    return this.waitFor((m) => m.topic === topic && pred(m), timeoutMs, topic);
  }

  clear(): void {
    this.messages.length = 0;
  }

  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
