import { linkSignals } from '../../core/abort.js';
import type { AppContext } from '../../core/context.js';
import { describeBody } from '../../backends/http-body.js';
import { CapacityError, fetchFailure, InputError } from '../../core/errors.js';
import type { Service } from '../../core/lifecycle.js';
import type { CameraResult } from '../../core/results.js';

/** Frigate's event ids (`1607123955.475377-mxklsc`); anything else never reaches a URL. */
const FRIGATE_EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Frigate answers at once; a hung one must not pile up requests. */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_IN_FLIGHT = 8;

/** The text Frigate shows and indexes for an event: the paragraph, else the one-liner. */
function frigateDescription(result: CameraResult): string {
  return (result.description || result.summary).trim();
}

/**
 * Writes each description of a Frigate event back to Frigate (frigate.api_url set):
 * `POST /api/events/<id>/description {"description"}`, the call Frigate's own GenAI uses,
 * so the text shows on the event in Frigate's Explore view and feeds its semantic search.
 * Runs beside the MQTT publish, never in its way; a refusal or an unreachable Frigate is
 * reported on <base>/error and the next event is tried anyway.
 */
export class FrigateDescriptionWriter implements Service {
  readonly name = 'frigate-descriptions';
  private off?: () => void;
  private readonly lifetime = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly base: string;

  constructor(private readonly ctx: AppContext) {
    this.base = ctx.config.frigate.api_url.replace(/\/+$/, '');
  }

  async start(): Promise<void> {
    this.off = this.ctx.bus.on('camera.result', this.name, ({ result }) => {
      if (result.source !== 'frigate' || !result.frigate_event_id || result.error) return;
      const p = this.write(result.frigate_event_id, frigateDescription(result)).catch((err: unknown) => {
        this.ctx.errors.report('frigate', this.where(result.frigate_event_id ?? ''), err);
      });
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    });
    await Promise.resolve();
  }

  async stop(): Promise<void> {
    this.off?.();
    this.lifetime.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves once Frigate took the description; rejects with what Frigate said. */
  async write(eventId: string, description: string): Promise<void> {
    if (!FRIGATE_EVENT_ID.test(eventId)) throw new InputError(`not a Frigate event id: ${JSON.stringify(eventId.slice(0, 80))}`);
    if (!description) throw new InputError(`no description to write to Frigate event ${eventId}`);
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      throw new CapacityError(`Frigate event ${eventId}: ${MAX_IN_FLIGHT} description writes are already waiting for Frigate at ${this.base}`);
    }
    const url = `${this.base}/api/events/${encodeURIComponent(eventId)}/description`;
    const { signal, unlink } = linkSignals([this.lifetime.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    try {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ description }), signal });
      } catch (err) {
        throw new Error(`could not reach Frigate at ${this.base} to describe event ${eventId}: ${fetchFailure(err)} (check frigate.api_url)`);
      }
      const text = await res.text().catch(() => '');
      if (res.ok) return;
      throw new Error(`Frigate refused the description of event ${eventId}: HTTP ${res.status}${frigateMessage(text, res.headers.get('content-type'))}`);
    } finally {
      unlink();
    }
  }

  private where(eventId: string): string {
    return `${this.base}/api/events/${FRIGATE_EVENT_ID.test(eventId) ? eventId : '?'}/description`;
  }
}

/** Frigate's `{"success": false, "message"}`, FastAPI's `{"detail": ...}`, or what else came back (a proxy's page). */
function frigateMessage(body: string, contentType: string | null): string {
  if (!body.trim()) return '';
  try {
    const doc = JSON.parse(body) as { message?: unknown; detail?: unknown };
    const said = typeof doc.message === 'string' ? doc.message : doc.detail !== undefined ? JSON.stringify(doc.detail) : '';
    return said ? `: ${said.slice(0, 300)}` : '';
  } catch {
    return `: ${describeBody(body, contentType)}`;
  }
}

export function frigateDescriptionsFeature(ctx: AppContext): Service | undefined {
  const f = ctx.config.frigate;
  return f.enabled && f.api_url ? new FrigateDescriptionWriter(ctx) : undefined;
}
