import { randomUUID } from 'node:crypto';
import { ID_RE } from '../mqtt/topics.js';
import type { AppContext } from '../core/context.js';
import type { ErrorReporter } from '../core/error-reporter.js';
import { BackendError, InputError, errorMessage } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import { clusterOf } from '../cluster/feature.js';
import { refuseSimpleContentType } from '../http/api-try.js';
import { HttpError, readBody, sendJson } from '../http/respond.js';
import type { Logger } from '../log/logger.js';
import type { IncomingMessage, MqttBridge } from '../mqtt/client.js';
import type { BridgeDevice } from '../publishers/bridge-device.js';
import type { TimelineStore } from '../publishers/timeline/store.js';
import { REQUEST_ID_RE, routerGenerate, type AskGenerate } from '../sources/ask.js';
import { buildDigest, type Digest } from './build.js';
import { msUntil, resolvePeriod } from './period.js';

/** Largest request payload read (bytes): a period name, a camera id and an id. */
const MAX_REQUEST_BYTES = 1024;

export interface DigestRequest {
  period: string;
  camera?: string;
  id: string;
}

/**
 * `sarai/digest/request` payload: empty (the configured period), a period name or date as
 * plain text, or JSON `{"period"?, "camera"?, "id"?}`. Throws InputError.
 */
export function parseDigestRequest(payload: Buffer, defaultPeriod: string): DigestRequest {
  if (payload.length > MAX_REQUEST_BYTES) throw new InputError(`digest: request of ${payload.length} bytes is larger than ${MAX_REQUEST_BYTES}`);
  const raw = payload.toString('utf8').trim();
  if (!raw) return { period: defaultPeriod, id: randomUUID() };
  if (!raw.startsWith('{')) return { period: raw, id: randomUUID() };
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch (err) {
    throw new InputError(`digest: invalid JSON: ${errorMessage(err)}`);
  }
  const o = obj as { period?: unknown; camera?: unknown; id?: unknown };
  if (o.period !== undefined && typeof o.period !== 'string') throw new InputError('digest: "period" must be a string');
  if (o.camera !== undefined && (typeof o.camera !== 'string' || !ID_RE.test(o.camera) || o.camera.length > 64)) {
    throw new InputError('digest: "camera" must be a camera id ([a-z0-9_]+)');
  }
  if (o.id !== undefined && (typeof o.id !== 'string' || !REQUEST_ID_RE.test(o.id))) throw new InputError('digest: "id" must be 1-64 characters of letters, digits, _ . : -');
  return { period: (o.period as string | undefined) ?? defaultPeriod, id: (o.id as string | undefined) ?? randomUUID(), ...(o.camera ? { camera: o.camera as string } : {}) };
}

export interface DigestDeps {
  mqtt: Pick<MqttBridge, 'subscribe' | 'publish' | 'topic'>;
  errors: Pick<ErrorReporter, 'report'>;
  log: Logger;
  /** The timeline's store (undefined while it is not open). */
  store: () => TimelineStore | undefined;
  generate?: AskGenerate;
  bridge?: Pick<BridgeDevice, 'addComponent'>;
  /** digest.time (HH:MM, local) and digest.period; no time: on request only. */
  time?: string;
  period: string;
  now?: () => number;
  /** Cluster mode: whether this worker holds the group's lease (only the holder runs the daily digest). */
  holdsLease?: () => boolean;
}

/**
 * The digest: on `<base>/digest/request` and every day at digest.time, the period's per-camera
 * and whole-house counts from the timeline, with prose by the text role, on `<base>/digest`
 * (retained: the sensor's state and attributes) and `<base>/digest/event` (the event entity).
 */
export class DigestService implements Service {
  readonly name = 'digest';
  private off?: () => void;
  private timer?: NodeJS.Timeout;
  private readonly inflight = new Set<AbortController>();

  constructor(private readonly deps: DigestDeps) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async start(): Promise<void> {
    const { mqtt } = this.deps;
    this.off = mqtt.subscribe(mqtt.topic('digest/request'), this.name, async (m) => void (await this.handle(m)), 1, true);
    await this.deps.bridge?.addComponent('digest', {
      p: 'sensor', name: 'Digest', icon: 'mdi:text-box-outline',
      state_topic: mqtt.topic('digest'), value_template: '{{ value_json.text[:255] }}',
      json_attributes_topic: mqtt.topic('digest'),
    });
    await this.deps.bridge?.addComponent('digest_event', {
      p: 'event', name: 'Digest', icon: 'mdi:text-box-check-outline',
      state_topic: mqtt.topic('digest/event'), event_types: ['digest'],
    });
    this.schedule();
  }

  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.inflight) c.abort(new InputError('digest: bridge stopping'));
    await Promise.resolve();
  }

  private schedule(): void {
    if (!this.deps.time) return;
    this.timer = setTimeout(() => {
      // one digest per group: another worker holds the lease (asked at the time, so a moved lease counts)
      if (this.deps.holdsLease && !this.deps.holdsLease()) {
        this.deps.log.debug({ module: this.name }, 'scheduled digest left to the worker holding the group lease');
        if (this.off) this.schedule();
        return;
      }
      void this.run({ period: this.deps.period, id: randomUUID() }, 'schedule').finally(() => this.off && this.schedule());
    }, msUntil(this.deps.time, this.now()));
    this.timer.unref();
  }

  /** One request message (the MQTT handler; tests call it too). */
  async handle(m: IncomingMessage): Promise<Digest | undefined> {
    if (m.retain) return undefined;
    let req: DigestRequest;
    try {
      req = parseDigestRequest(m.payload, this.deps.period);
    } catch (err) {
      this.deps.errors.report(this.name, m.topic, err);
      return undefined;
    }
    return this.run(req, m.topic);
  }

  /** Builds one digest (not published); throws InputError for a bad period. */
  async build(req: DigestRequest): Promise<Digest> {
    const ac = new AbortController();
    this.inflight.add(ac);
    try {
      const period = resolvePeriod(req.period, this.now());
      const store = this.deps.store();
      if (!store) throw new BackendError('digest: the timeline is not open');
      const counts = store.counts(period.since, period.until, req.camera);
      return await buildDigest({ id: req.id, period, counts, ...(req.camera ? { camera: req.camera } : {}), ...(this.deps.generate ? { generate: this.deps.generate } : {}), signal: ac.signal });
    } finally {
      this.inflight.delete(ac);
    }
  }

  /** Builds and publishes one digest; a bad period or a closed timeline is reported on sarai/error. */
  async run(req: DigestRequest, topic: string): Promise<Digest | undefined> {
    const { mqtt, errors, log } = this.deps;
    try {
      const digest = await this.build(req);
      if (digest.model_error) errors.report(this.name, topic, `digest ${digest.id}: the text model failed (${digest.model_error}); published the plain digest`);
      mqtt.publish(mqtt.topic('digest'), JSON.stringify(digest), { retain: true, qos: 1 });
      mqtt.publish(mqtt.topic('digest/event'), JSON.stringify({ event_type: 'digest', id: digest.id, period: digest.period, ...(digest.camera ? { camera: digest.camera } : {}), text: digest.text, totals: digest.totals }), { qos: 1 });
      log.info({ module: this.name, id: digest.id, period: digest.period, events: digest.totals.events, source: digest.text_source }, 'digest published');
      return digest;
    } catch (err) {
      errors.report(this.name, topic, err);
      return undefined;
    }
  }
}

/** Cluster mode: whether this worker may run the scheduled digest (it holds the group lease); lone bridge: undefined (always). */
export function scheduledDigestGate(ctx: AppContext): (() => boolean) | undefined {
  const cluster = clusterOf(ctx);
  return cluster ? () => cluster.lease.holds() : undefined;
}

/** The bridge feature (digest.enabled), reading the timeline's store. */
export function digestFeature(ctx: AppContext, store: () => TimelineStore | undefined): Service | undefined {
  const d = ctx.config.digest;
  if (!d.enabled) return undefined;
  const holdsLease = scheduledDigestGate(ctx);
  const service = new DigestService({
    mqtt: ctx.mqtt, errors: ctx.errors, log: ctx.log, bridge: ctx.bridge, store,
    // the text path as is: a digest prompt is not a question for the history reader
    generate: routerGenerate(ctx.router),
    period: d.period, ...(d.time ? { time: d.time } : {}),
    // cluster mode: requests are shared ($share), the daily digest is the lease holder's alone
    ...(holdsLease ? { holdsLease } : {}),
  });
  // POST /api/digest {period?, camera?}: the digest as JSON, not published (the dashboard, scripts)
  ctx.http.route('POST', '/api/digest', async ({ req, res }) => {
    refuseSimpleContentType(req);
    const body = await readBody(req, MAX_REQUEST_BYTES);
    let digestReq: DigestRequest;
    try {
      digestReq = parseDigestRequest(body.length ? body : Buffer.from('{}'), d.period);
    } catch (err) {
      throw new HttpError(400, errorMessage(err));
    }
    try {
      sendJson(res, 200, await service.build(digestReq));
    } catch (err) {
      if (err instanceof InputError) throw new HttpError(400, err.message);
      throw err;
    }
  });
  return service;
}
