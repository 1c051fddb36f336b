import { randomUUID } from 'node:crypto';
import type { Backend } from '../backends/types.js';
import type { Bus } from '../core/bus.js';
import type { AppContext, BridgeEvents } from '../core/context.js';
import type { ErrorReporter } from '../core/error-reporter.js';
import { errorMessage, InputError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import type { AskAnswer } from '../core/results.js';
import type { Logger } from '../log/logger.js';
import type { BridgeDevice } from '../publishers/bridge-device.js';
import type { IncomingMessage, MqttBridge } from '../mqtt/client.js';
import type { ModelRouter } from '../router/types.js';
import { bridgeAskGenerate } from './ask-history.js';

/** Longest question accepted (characters); longer is refused before any model sees it. */
export const MAX_ASK_CHARS = 8_000;
/** A request id (ask, digest) is echoed back in the answer JSON: short and plain. */
export const REQUEST_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface AskGeneration {
  text: string;
  model: string;
  /** the role that answered */
  route: string;
  route_reason: string;
  tokens: number;
  /** History questions: the cited events and how the question was read. */
  sources?: AskAnswer['sources'];
  history?: AskAnswer['history'];
}
/** Whatever answers the text: the router in the bridge, one backend for `sarai ask --model`. */
export type AskGenerate = (text: string, signal: AbortSignal, onToken?: (t: string) => void) => Promise<AskGeneration>;

export interface AskInput {
  text: string;
  id: string;
}

/** `sarai/ask` payload: plain UTF-8 text, or JSON `{"text": ..., "id": ...}`. Throws InputError. */
export function parseAskPayload(payload: Buffer): AskInput {
  const raw = payload.toString('utf8').trim();
  if (!raw) throw new InputError('ask: empty payload (send text, or JSON {"text": ..., "id": ...})');
  let text = raw;
  let id: string | undefined;
  if (raw.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw new InputError(`ask: invalid JSON: ${errorMessage(err)}`);
    }
    const o = obj as { text?: unknown; id?: unknown };
    if (typeof o.text !== 'string') throw new InputError('ask: JSON payload needs a "text" string');
    if (o.id !== undefined && (typeof o.id !== 'string' || !REQUEST_ID_RE.test(o.id))) {
      throw new InputError('ask: "id" must be 1-64 characters of letters, digits, _ . : -');
    }
    text = o.text.trim();
    id = o.id as string | undefined;
  }
  if (!text) throw new InputError('ask: the question is empty');
  if (text.length > MAX_ASK_CHARS) throw new InputError(`ask: question of ${text.length} characters is longer than ${MAX_ASK_CHARS}`);
  return { text, id: id ?? randomUUID() };
}

/** Answers one question; never throws: a failure is an answer with `error` set. */
export async function askText(generate: AskGenerate, input: AskInput, opts: { signal?: AbortSignal; onToken?: (t: string) => void } = {}): Promise<AskAnswer> {
  const started = performance.now();
  try {
    const g = await generate(input.text, opts.signal ?? new AbortController().signal, opts.onToken);
    return {
      id: input.id, text: g.text, route: g.route, route_reason: g.route_reason, model: g.model, latency_ms: Math.round(performance.now() - started), tokens: g.tokens,
      ...(g.sources ? { sources: g.sources } : {}), ...(g.history ? { history: g.history } : {}),
    };
  } catch (err) {
    return { id: input.id, text: '', route: '', route_reason: '', model: '', latency_ms: Math.round(performance.now() - started), tokens: 0, error: errorMessage(err) };
  }
}

/** The router as an AskGenerate (the bridge's path). */
export function routerGenerate(router: Pick<ModelRouter, 'answer'>): AskGenerate {
  return async (text, signal, onToken) => {
    const r = await router.answer(text, { signal, ...(onToken ? { onToken } : {}) });
    return { text: r.value.text, model: r.model, route: r.route, route_reason: r.reason, tokens: r.value.tokens };
  };
}

/** One backend as an AskGenerate (`sarai ask --model PATH`, benches). */
export function backendGenerate(backend: Backend, reason = 'model given'): AskGenerate {
  return async (text, signal, onToken) => {
    if (!backend.generate) throw new InputError(`${backend.role} cannot generate text`);
    const r = await backend.generate({ messages: [{ role: 'user', content: text }], signal, ...(onToken ? { onToken } : {}) });
    return { text: r.text, model: r.model, route: backend.role, route_reason: reason, tokens: r.tokens };
  };
}

export interface AskSourceDeps {
  mqtt: Pick<MqttBridge, 'subscribe' | 'publish' | 'topic'>;
  errors: Pick<ErrorReporter, 'report'>;
  log: Logger;
  generate: AskGenerate;
  bus?: Pick<Bus<BridgeEvents>, 'emit'>;
  /** The bridge device, to announce a "Last answer" sensor (the dashboard card's ask mode reads it). */
  bridge?: Pick<BridgeDevice, 'addComponent'>;
}

/**
 * `<base>/ask` -> `<base>/answer`: `{id, text, route, route_reason, model, latency_ms, tokens}`.
 * Bad payloads are reported on `<base>/error`; a failed answer is reported there too and also
 * answered (with `error`), so whoever asked by id hears back. Retained questions are ignored.
 */
export class AskSource implements Service {
  readonly name = 'ask';
  private off?: () => void;
  private readonly inflight = new Set<AbortController>();

  constructor(private readonly deps: AskSourceDeps) {}

  async start(): Promise<void> {
    const { mqtt } = this.deps;
    this.off = mqtt.subscribe(mqtt.topic('ask'), this.name, async (m) => {
      await this.handle(m);
    }, 0, true);
    await this.deps.bridge?.addComponent('last_answer', {
      p: 'sensor', name: 'Last answer', icon: 'mdi:chat-question-outline',
      state_topic: mqtt.topic('answer'), value_template: '{{ value_json.text[:255] }}',
      json_attributes_topic: mqtt.topic('answer'),
    });
  }

  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    for (const c of this.inflight) c.abort(new InputError('ask: bridge stopping'));
    await Promise.resolve();
  }

  /** Handles one message (the MQTT handler; tests call it directly too). */
  async handle(m: IncomingMessage): Promise<AskAnswer | undefined> {
    const { mqtt, errors, log, bus } = this.deps;
    if (m.retain) {
      log.debug({ module: this.name, topic: m.topic }, 'retained question ignored');
      return undefined;
    }
    let input: AskInput;
    try {
      input = parseAskPayload(m.payload);
    } catch (err) {
      errors.report(this.name, m.topic, err);
      return undefined;
    }
    const ac = new AbortController();
    this.inflight.add(ac);
    try {
      const answer = await askText(this.deps.generate, input, { signal: ac.signal });
      if (answer.error) errors.report(this.name, m.topic, `ask ${answer.id}: ${answer.error}`);
      mqtt.publish(mqtt.topic('answer'), JSON.stringify(answer), { qos: 1 });
      await bus?.emit('ask.answer', answer);
      return answer;
    } finally {
      this.inflight.delete(ac);
    }
  }
}

/** The bridge feature: `sarai/ask` answered through the router, questions about past events from the timeline. */
export function askFeature(ctx: AppContext): Service {
  return new AskSource({ mqtt: ctx.mqtt, errors: ctx.errors, log: ctx.log, bus: ctx.bus, bridge: ctx.bridge, generate: bridgeAskGenerate(ctx) });
}
