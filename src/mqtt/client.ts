import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { errorMessage } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { Logger } from '../log/logger.js';
import { redactUrl } from '../log/logger.js';
import { InputSpool, type InputSpoolOptions, type SpooledInput } from './input-spool.js';
import { Receipt, withReceipt } from './receipt.js';
import { checkPublishTopic, topicMatches } from './topics.js';

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** MQTT 5 user properties (e.g. a producer's `ts`), when the broker carried any. */
  userProperties?: Record<string, string | string[]>;
  /** An input run again from the spool: when the previous run accepted it (ms since epoch). */
  receivedMs?: number;
}
export type MessageHandler = (msg: IncomingMessage) => void | Promise<void>;

export interface MqttOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  baseTopic: string;
  /** 4 = MQTT 3.1.1 (the embedded aedes broker), 5 = MQTT 5. */
  protocolVersion: 4 | 5;
  keepaliveS: number;
  reconnectMaxMs: number;
  maxPayloadBytes: number;
  /** Cluster mode: subscriptions marked shared go to the broker as `$share/<group>/<filter>`. */
  shareGroup?: string;
  /** Cluster mode: this worker's own status topic (last will, online/offline); default `<base>/status`. */
  workerStatusTopic?: string;
  /**
   * > 0: a persistent session (clean: false; MQTT 5 session expiry in s) so the broker keeps
   * our subscriptions and queues QoS 1 inputs while we are away. Needs a stable clientId.
   */
  sessionExpiryS?: number;
  /**
   * Inputs acknowledged but unfinished go to disk here (see InputSpool); none: no spool.
   * `isInput`: which topics are inputs that start work (a camera snapshot, not our own result
   * coming back on a catch-all): a QoS 1 delivery of one is spooled before it is acknowledged.
   */
  spool?: InputSpoolOptions & { isInput(topic: string): boolean };
  /** mqtts:// material, already read from disk (PEM). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
}

/** Called for what is rejected before any handler sees it (too large a payload...) and for refused credentials. */
export type RejectHandler = (topic: string, reason: string) => void;

interface Subscription {
  filter: string;
  qos: 0 | 1;
  handler: MessageHandler;
  name: string;
  shared: boolean;
  /** The handler never wants this connection's own publishes back (MQTT 5 No Local). */
  noLocal: boolean;
}

export interface SubscribeOptions {
  /**
   * Ask the broker not to send back what this connection publishes (MQTT 5 No Local): an input
   * catch-all such as `camera/#` also matches our own outputs (the 200 KB image entity). Honoured
   * only on MQTT 5 and on a filter that is not shared ($share forbids No Local); elsewhere our
   * own publishes still arrive and handlers skip them. Every handler of a filter must agree.
   */
  noLocal?: boolean;
}

/**
 * The filter the broker sees: a shared input becomes `$share/<group>/<filter>` (MQTT 5), at
 * QoS 1 so a message in flight to a worker that dies is not silently dropped by the broker.
 */
export function brokerFilter(filter: string, qos: 0 | 1, shared: boolean, group?: string): { filter: string; qos: 0 | 1 } {
  return shared && group ? { filter: `$share/${group}/${filter}`, qos: 1 } : { filter, qos };
}

const RECONNECT_MIN_MS = 500;
/** Inputs a resumed session delivers before the features subscribed: held, bounded. */
const HELD_MAX_MESSAGES = 1000;
/** CONNACK codes for refused credentials: MQTT 3.1.1 (4, 5) and MQTT 5 (134, 135). */
const AUTH_REFUSED = new Set([4, 5, 134, 135]);

/**
 * The one owner of the MQTT connection (zigbee2mqtt's pattern): base topic, last will
 * `<base>/status offline`, `online` on every connect, reconnect with exponential backoff,
 * resubscribe, no wildcards in published topics, and logs instead of throws while offline.
 */
export class MqttBridge {
  private client?: MqttClient;
  private readonly subs: Subscription[] = [];
  private readonly connectListeners: (() => void | Promise<void>)[] = [];
  private reconnectDelay = RECONNECT_MIN_MS;
  private offlineWarned = false;
  private onReject: RejectHandler = () => {};
  private readonly pendingSubs = new Set<Promise<void>>();
  /** Until deliverHeld(): messages no handler matches yet (a resumed session's backlog). */
  private held?: { msg: IncomingMessage; file?: string }[];
  private keepingSession = false;
  /** Until deliverHeld(): `online` waits for the features to subscribe (see holdOnlineUntilReady). */
  private onlineHeld = false;
  private readonly spool?: InputSpool;
  /** What the previous run left in the spool, run by deliverHeld(). */
  private leftover: SpooledInput[] = [];
  /** When the broker last refused our user name or password (ISO time), for the bridge state. */
  credentialsRefusedAt?: string;
  private refusedStreak = 0;

  constructor(
    private readonly opts: MqttOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    if ((opts.sessionExpiryS ?? 0) > 0) this.held = [];
    if (opts.spool) this.spool = new InputSpool(opts.spool, log, metrics.registry);
  }

  get baseTopic(): string {
    return this.opts.baseTopic;
  }
  get connected(): boolean {
    return this.client?.connected ?? false;
  }
  get statusTopic(): string {
    return `${this.opts.baseTopic}/status`;
  }
  /** Where this process's online/offline and last will go (its worker topic in cluster mode). */
  get willTopic(): string {
    return this.opts.workerStatusTopic ?? this.statusTopic;
  }
  /** `camera/x/result` -> `sarai/camera/x/result` */
  topic(relative: string): string {
    return `${this.opts.baseTopic}/${relative}`;
  }

  /** The embedded broker's URL is known only once it listens. */
  useUrl(url: string): void {
    this.opts.url = url;
  }

  setRejectHandler(fn: RejectHandler): void {
    this.onReject = fn;
  }

  /** Runs on every (re)connect, after `online` is published: discovery, states. */
  onConnect(fn: () => void | Promise<void>): void {
    this.connectListeners.push(fn);
  }

  /**
   * The app's first start: `online` goes out only once every feature has subscribed
   * (deliverHeld), not on CONNACK, so an input published on `online` finds its handler.
   */
  holdOnlineUntilReady(): void {
    this.onlineHeld = true;
  }

  /** Connects; never rejects (see below). */
  async connect(): Promise<void> {
    const o = this.opts;
    if (this.spool) {
      this.leftover = this.spool.open((input, ageMs) =>
        this.onReject(input.topic, `an input accepted ${Math.round(ageMs / 60_000)} min ago was left unfinished when SARAi stopped; older than mqtt.spool_max_age_s, so not run now`),
      );
    }
    const persistent = (o.sessionExpiryS ?? 0) > 0 && !!o.clientId;
    const options: IClientOptions = {
      clientId: o.clientId || `sarai_${o.baseTopic.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`,
      protocolVersion: o.protocolVersion,
      keepalive: o.keepaliveS,
      clean: !persistent,
      ...(persistent && o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpiryS } } : {}),
      ...(o.tls ?? {}),
      reconnectPeriod: RECONNECT_MIN_MS,
      connectTimeout: 10_000,
      resubscribe: false, // we resubscribe ourselves, with our own handler table
      // a broker restarting with its password file may refuse us once: keep retrying
      reconnectOnConnackError: true,
      will: { topic: this.willTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(o.username ? { username: o.username } : {}),
      ...(o.password ? { password: o.password } : {}),
    };
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.on('message', (topic, payload, packet) => this.dispatch(topic, payload, packet));
    client.on('connect', () => {
      // Nagle's algorithm holds small publishes (answers, states) for up to 40 ms
      const stream = client.stream as unknown as { setNoDelay?: (on: boolean) => void };
      stream.setNoDelay?.(true);
      this.reconnectDelay = RECONNECT_MIN_MS;
      client.options.reconnectPeriod = RECONNECT_MIN_MS;
      this.offlineWarned = false;
      this.refusedStreak = 0;
      this.metrics.mqttConnected.set(1);
      this.log.info({ module: 'mqtt', url: redactUrl(o.url) }, 'connected to MQTT broker');
      void this.afterConnect();
    });
    client.on('close', () => {
      this.metrics.mqttConnected.set(0);
      // exponential backoff: mqtt.js reads reconnectPeriod each time it schedules a retry
      client.options.reconnectPeriod = this.reconnectDelay;
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, o.reconnectMaxMs);
    });
    client.on('offline', () => this.log.warn({ module: 'mqtt' }, 'MQTT broker unreachable; retrying with backoff'));
    client.on('error', (err) => {
      if (!AUTH_REFUSED.has(Number((err as { code?: unknown }).code))) return this.log.warn({ module: 'mqtt', err: errorMessage(err) }, 'MQTT error');
      this.credentialsRefusedAt = new Date().toISOString();
      const msg = 'MQTT broker refused the credentials (mqtt.username / mqtt.password); retrying with backoff';
      // the first refusal of a streak is an error on sarai/error; the retries are warnings
      if (this.refusedStreak++ > 0) return this.log.warn({ module: 'mqtt', err: errorMessage(err), retries: this.refusedStreak }, msg);
      this.log.error({ module: 'mqtt', err: errorMessage(err) }, msg);
      this.onReject('mqtt/connect', `${msg}: ${errorMessage(err)}`);
    });

    // Resolve on the first CONNACK, or after the first failure: the bridge keeps running
    // (health reports 503) and mqtt.js keeps retrying with our backoff.
    await new Promise<void>((resolve) => {
      const done = (err?: Error) => {
        client.off('connect', onOk);
        client.off('error', onFail);
        client.off('close', onClose);
        if (err && /protocol version/i.test(err.message) && o.shareGroup) {
          // cluster mode needs MQTT 5 shared subscriptions; an MQTT 3.1.1 broker (aedes) refuses v5
          this.log.error(
            { module: 'mqtt', url: redactUrl(o.url), err: errorMessage(err) },
            'cluster mode (cluster.group) needs an MQTT 5 broker with shared subscriptions (mosquitto 2, EMQX); this broker refused MQTT 5, it speaks 3.1.1 only',
          );
        } else if (err) {
          this.log.error(
            { module: 'mqtt', url: redactUrl(o.url), err: errorMessage(err) },
            'cannot reach the MQTT broker yet; retrying in the background (check mqtt.url, username and password)',
          );
        }
        resolve();
      };
      const onOk = () => done();
      const onFail = (err: Error) => done(err);
      const onClose = () => done(new Error('connection closed before CONNACK'));
      client.once('connect', onOk);
      client.once('error', onFail);
      client.once('close', onClose);
    });
  }

  private async afterConnect(): Promise<void> {
    const filters = new Set(this.subs.map((s) => brokerFilter(s.filter, s.qos, s.shared, this.opts.shareGroup).filter));
    for (const filter of filters) this.subscribeOnBroker(filter);
    // `online` says inputs are heard: an automation that publishes on it loses nothing
    if (!this.onlineHeld) {
      await this.subscriptionsSettled();
      await this.publishAsync(this.willTopic, 'online', { retain: true, qos: 1 });
    }
    for (const fn of this.connectListeners) {
      try {
        await fn();
      } catch (err) {
        this.log.error({ module: 'mqtt', err }, 'on-connect listener failed');
      }
    }
  }

  /** Subscribes (now if connected, and again after every reconnect). */
  subscribe(filter: string, name: string, handler: MessageHandler, qos: 0 | 1 = 1, shared = false, opts: SubscribeOptions = {}): () => void {
    const sub: Subscription = { filter, qos, handler, name, shared, noLocal: opts.noLocal === true };
    const onBroker = brokerFilter(filter, qos, shared, this.opts.shareGroup);
    // mosquitto keeps the first No Local of a filter through a repeated SUBSCRIBE, and changing
    // it would mean unsubscribing (losing inputs meanwhile): every handler of a filter agrees
    const other = this.subs.find((s) => brokerFilter(s.filter, s.qos, s.shared, this.opts.shareGroup).filter === onBroker.filter && s.noLocal !== sub.noLocal);
    if (other) throw new Error(`${name}: ${filter} is subscribed by ${other.name} ${other.noLocal ? 'with' : 'without'} noLocal; subscribe it the same way`);
    this.subs.push(sub);
    if (this.client?.connected) this.subscribeOnBroker(onBroker.filter);
    return () => {
      const i = this.subs.indexOf(sub);
      if (i >= 0) this.subs.splice(i, 1);
      const stillWanted = this.subs.some((s) => brokerFilter(s.filter, s.qos, s.shared, this.opts.shareGroup).filter === onBroker.filter);
      if (!stillWanted && !this.keepingSession) this.client?.unsubscribe(onBroker.filter);
    };
  }

  /** The options of one broker filter, from the handlers subscribed on it (highest QoS; their No Local). */
  private brokerOptions(filter: string): { qos: 0 | 1; nl: boolean } {
    let qos: 0 | 1 = 0;
    let nl = this.opts.protocolVersion === 5 && !filter.startsWith('$share/');
    for (const s of this.subs) {
      const b = brokerFilter(s.filter, s.qos, s.shared, this.opts.shareGroup);
      if (b.filter !== filter) continue;
      qos = Math.max(qos, b.qos) as 0 | 1;
      nl &&= s.noLocal;
    }
    return { qos, nl };
  }

  private subscribeOnBroker(filter: string): void {
    const client = this.client;
    if (!client) return;
    const { qos, nl } = this.brokerOptions(filter);
    const done = new Promise<void>((resolve) => {
      client.subscribe(filter, nl ? { qos, nl } : { qos }, (err) => {
        if (err) this.log.warn({ module: 'mqtt', filter, err: errorMessage(err) }, 'subscribe failed');
        resolve();
      });
    });
    this.pendingSubs.add(done);
    void done.then(() => this.pendingSubs.delete(done));
  }

  /** Resolves once the broker acknowledged every subscription made so far (SUBACK). */
  async subscriptionsSettled(): Promise<void> {
    while (this.pendingSubs.size > 0) await Promise.all([...this.pendingSubs]);
  }

  /**
   * Hands the held backlog to the handlers subscribed by now; from here on an unmatched
   * message is ignored as before. The app calls it once every feature has subscribed.
   */
  deliverHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (held.length) this.log.info({ module: 'mqtt', messages: held.length, topics: [...new Set(held.map((m) => m.msg.topic))].slice(0, 20) }, 'delivering inputs queued by the broker while SARAi was away');
    for (const m of held) this.deliver(m.msg, m.file);
    if (this.onlineHeld) {
      this.onlineHeld = false;
      if (this.connected) void this.publishAsync(this.willTopic, 'online', { retain: true, qos: 1 });
    }
    const leftover = this.leftover;
    this.leftover = [];
    if (leftover.length) this.log.info({ module: 'mqtt', inputs: leftover.length, topics: [...new Set(leftover.map((m) => m.topic))].slice(0, 20) }, 'running the inputs the last run accepted and did not finish (input spool)');
    for (const m of leftover) {
      this.deliver({ topic: m.topic, payload: m.payload, retain: false, receivedMs: m.receivedMs, ...(m.userProperties ? { userProperties: m.userProperties } : {}) }, m.file);
    }
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const userProperties = packet.properties?.userProperties;
    const msg: IncomingMessage = { topic, payload, retain: packet.retain, ...(userProperties ? { userProperties } : {}) };
    // on disk before we return: mqtt.js sends the PUBACK only after this handler
    const spool = this.opts.spool;
    const file = this.spool && spool?.isInput(topic) && packet.qos > 0 && !packet.retain && payload.length <= this.opts.maxPayloadBytes
      ? this.spool.accept(topic, payload, userProperties)
      : undefined;
    this.deliver(msg, file);
  }

  /** Hands a message (live, held at start, or left in the spool by the last run) to its handlers. */
  private deliver(msg: IncomingMessage, file: string | undefined): void {
    const { topic, payload } = msg;
    const matching = this.subs.filter((s) => topicMatches(s.filter, topic));
    if (matching.length === 0) {
      if (this.held && this.held.length < HELD_MAX_MESSAGES) {
        // a resumed session delivers right after CONNACK, before the features subscribed
        this.held.push({ msg, ...(file ? { file } : {}) });
        return;
      }
      if (this.held) this.onReject(topic, `more than ${HELD_MAX_MESSAGES} inputs arrived while SARAi was starting; this one was dropped`);
      else if (file) this.onReject(topic, 'an input was spooled but nothing takes this topic now (configuration changed?); dropped');
      if (file) this.spool?.finish(file);
      return;
    }
    this.metrics.messagesIn.inc({ kind: matching[0]?.name ?? 'other' });
    if (payload.length > this.opts.maxPayloadBytes) {
      const mb = (payload.length / 1_048_576).toFixed(1);
      const max = (this.opts.maxPayloadBytes / 1_048_576).toFixed(1);
      this.onReject(topic, `payload of ${mb} MB exceeds mqtt.max_payload_mb (${max} MB)`);
      if (file) this.spool?.finish(file);
      return;
    }
    this.run(matching, msg, file);
  }

  /** Runs the handlers; a spooled input stays on disk until every job they queued has ended. */
  private run(matching: Subscription[], msg: IncomingMessage, spooled: string | undefined): void {
    const spool = this.spool;
    const receipt = spooled && spool ? new Receipt((kept) => (kept ? spool.keep(spooled) : spool.finish(spooled))) : undefined;
    const runs = matching.map((s) => {
      const call = () => Promise.resolve().then(() => s.handler(msg));
      return (receipt ? withReceipt(receipt, call) : call()).catch((err: unknown) => this.log.error({ module: s.name, topic: msg.topic, err }, 'message handler failed'));
    });
    if (receipt) void Promise.all(runs).then(() => receipt.settle());
  }

  /**
   * Publishes `topic` (absolute). Never throws for connection state: while offline mqtt.js
   * keeps the message (QoS 1: until the broker acknowledges it, across reconnects) and we log
   * once. Results go out at QoS 1 (their publishers say so). Invalid topics are refused (logged, returns false).
   */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): boolean {
    try {
      checkPublishTopic(topic);
    } catch (err) {
      this.log.error({ module: 'mqtt', err: errorMessage(err) }, 'publish refused');
      return false;
    }
    if (!this.client) {
      this.log.warn({ module: 'mqtt', topic }, 'not connected yet; message dropped');
      return false;
    }
    if (!this.client.connected && !this.offlineWarned) {
      this.offlineWarned = true;
      this.log.warn({ module: 'mqtt' }, 'broker offline; queueing messages until it is back');
    }
    this.metrics.messagesOut.inc({ kind: topic.split('/')[1] ?? 'other' });
    this.client.publish(topic, payload, { retain: opts.retain ?? false, qos: opts.qos ?? 0 }, (err) => {
      if (err) this.log.warn({ module: 'mqtt', topic, err: errorMessage(err) }, 'publish failed');
    });
    return true;
  }

  /** Like publish, but resolves when the broker acknowledged (QoS 1) or the write flushed; offline, once queued. */
  publishAsync(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    return new Promise((resolve) => {
      try {
        checkPublishTopic(topic);
      } catch (err) {
        this.log.error({ module: 'mqtt', err: errorMessage(err) }, 'publish refused');
        resolve();
        return;
      }
      if (!this.client) return resolve();
      this.metrics.messagesOut.inc({ kind: topic.split('/')[1] ?? 'other' });
      const offline = !this.client.connected;
      this.client.publish(topic, payload, { retain: opts.retain ?? false, qos: opts.qos ?? 0 }, (err) => {
        if (err) this.log.warn({ module: 'mqtt', topic, err: errorMessage(err) }, 'publish failed');
        resolve();
      });
      // Offline, mqtt.js queues it in order and sends it on reconnect; waiting for that PUBACK
      // would hold start() (and the UI) for as long as the broker refuses us.
      if (offline) resolve();
    });
  }

  /**
   * Shutdown begins: features that stop from now on unsubscribe only here, not on the broker,
   * so a persistent session goes on queuing their inputs until SARAi is back.
   */
  keepSessionOnStop(): void {
    this.keepingSession = (this.opts.sessionExpiryS ?? 0) > 0;
  }

  /** Publishes `offline` (a clean stop does what the last will does for a crash) and disconnects. */
  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const connected = client.connected;
    if (connected) await this.publishAsync(this.willTopic, 'offline', { retain: true, qos: 1 });
    // offline: force, or mqtt.js would wait forever for queued messages to be acknowledged
    await client.endAsync(!connected);
    this.client = undefined;
    this.metrics.mqttConnected.set(0);
    if (this.spool?.leftForNextStart) {
      this.spool.sync();
      this.log.info({ module: 'mqtt', inputs: this.spool.leftForNextStart }, 'inputs left unfinished stay in the spool for the next start');
    }
  }
}
