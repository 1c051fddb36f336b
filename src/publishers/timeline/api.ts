import { HttpError, sendBytes, sendJson } from '../../http/respond.js';
import type { HttpServer } from '../../http/server.js';
import { ID_RE } from '../../mqtt/topics.js';
import type { EventQuery, StoredEvent, TimelineStore } from './store.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
const RESULT_ID = /^[a-z0-9_]{1,64}$/;

/** `?since=` as ISO 8601 or ms since epoch. */
function parseTime(name: string, v: string): number {
  const n = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name} must be an ISO 8601 time or ms since epoch`);
  return n;
}

/** Validates the query string; any bad parameter is a 400 naming it. */
export function parseEventQuery(params: URLSearchParams): EventQuery {
  const known = new Set(['camera', 'since', 'until', 'alerts', 'limit', 'before']);
  for (const k of params.keys()) if (!known.has(k)) throw new HttpError(400, `unknown parameter ${JSON.stringify(k.slice(0, 40))}`);
  const q: EventQuery = { alertsOnly: false, limit: DEFAULT_LIMIT };
  const camera = params.get('camera');
  if (camera !== null && camera !== '') {
    if (camera.length > 64 || !ID_RE.test(camera)) throw new HttpError(400, 'camera must be 1-64 characters of a-z, 0-9 and _');
    q.camera = camera;
  }
  const since = params.get('since');
  if (since) q.since = parseTime('since', since);
  const until = params.get('until');
  if (until) q.until = parseTime('until', until);
  const alerts = params.get('alerts');
  if (alerts !== null && alerts !== '') {
    if (!['0', '1', 'true', 'false'].includes(alerts)) throw new HttpError(400, 'alerts must be 1 or 0');
    q.alertsOnly = alerts === '1' || alerts === 'true';
  }
  const limit = params.get('limit');
  if (limit !== null && limit !== '') {
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) throw new HttpError(400, `limit must be an integer from 1 to ${MAX_LIMIT}`);
    q.limit = Number(limit);
  }
  const before = params.get('before');
  if (before !== null && before !== '') {
    if (!/^\d{1,15}$/.test(before) || Number(before) < 1) throw new HttpError(400, 'before must be a cursor from next_before');
    q.before = Number(before);
  }
  return q;
}

/** The API shape of one event; snapshot_url is relative (works behind HA ingress). */
export function eventJson(e: StoredEvent): Record<string, unknown> {
  const r = e.result;
  return {
    id: r.id, camera: r.camera, ts: r.ts, summary: r.summary, description: r.description, objects: r.objects,
    alert: r.alert, severity: r.severity, event_type: r.event_type, route: r.route, route_reason: r.route_reason,
    model: r.model, latency_ms: r.latency_ms, label: r.label ?? null, zones: r.zones ?? [], source: r.source,
    snapshot_url: e.hasSnapshot ? `api/events/${r.id}/snapshot.jpg` : null,
  };
}

function checkResultId(id: string | undefined): string {
  if (!id || !RESULT_ID.test(id)) throw new HttpError(400, 'event id must be 1-64 characters of a-z, 0-9 and _');
  return id;
}

/** GET /api/events, /api/events/:id, /api/events/:id/snapshot.jpg */
export function registerTimelineRoutes(http: HttpServer, store: () => TimelineStore | undefined): void {
  const open = (): TimelineStore => {
    const s = store();
    if (!s) throw new HttpError(503, 'timeline is not running');
    return s;
  };
  http.route('GET', '/api/events', ({ res, url }) => {
    const q = parseEventQuery(url.searchParams);
    const rows = open().list(q);
    const last = rows[rows.length - 1];
    sendJson(res, 200, { events: rows.map(eventJson), next_before: rows.length === q.limit && last ? last.seq : null });
  });
  http.route('GET', '/api/events/:id', ({ res, params }) => {
    const e = open().get(checkResultId(params['id']));
    if (!e) throw new HttpError(404, 'no such event');
    sendJson(res, 200, eventJson(e));
  });
  http.route('GET', '/api/events/:id/snapshot.jpg', ({ res, params }) => {
    const jpeg = open().snapshot(checkResultId(params['id']));
    if (!jpeg) throw new HttpError(404, 'no snapshot for this event');
    sendBytes(res, 200, jpeg, 'image/jpeg', { 'cache-control': 'private, max-age=86400' });
  });
}
