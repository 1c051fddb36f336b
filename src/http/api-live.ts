import type http from 'node:http';
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { CameraResult } from '../core/results.js';
import { HttpError } from './respond.js';

/** Comment lines keep proxies (HA ingress) from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Each open dashboard holds one stream; a cap keeps a runaway client from holding sockets. */
const MAX_CLIENTS = 32;

const streams = new WeakMap<AppContext, LiveStream>();

/** Open dashboard streams of this bridge (for /api/system). */
export function liveClientCount(ctx: AppContext): number {
  return streams.get(ctx)?.clientCount ?? 0;
}

/** A camera result as the timeline API lists it (relative snapshot URL, works under ingress). */
export function timelineItem(result: CameraResult, hasImage: boolean): Record<string, unknown> {
  return { ...result, snapshot_url: hasImage ? `api/events/${encodeURIComponent(result.id)}/snapshot.jpg` : null };
}

/**
 * GET /api/stream: server-sent events for the dashboard — `alert` (a two-phase camera alert),
 * `result` (a camera result, timeline
 * item shape), `voice` (a voice response) and `error` (an error report) — with heartbeats.
 * Clients are dropped when they disconnect or when the service stops.
 */
export class LiveStream implements Service {
  readonly name = 'api-live';
  private readonly clients = new Set<http.ServerResponse>();
  private readonly unsubscribe: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly ctx: AppContext) {}

  get clientCount(): number {
    return this.clients.size;
  }

  register(): void {
    streams.set(this.ctx, this);
    this.ctx.http.route('GET', '/api/stream', ({ req, res }) => {
      if (this.stopped) throw new HttpError(503, 'shutting down');
      if (this.clients.size >= MAX_CLIENTS) throw new HttpError(503, `too many live streams (max ${MAX_CLIENTS})`);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // nginx-style proxies (HA ingress is aiohttp, but users put others in front) must not buffer
        'x-accel-buffering': 'no',
      });
      res.write('retry: 3000\n: connected\n\n');
      this.clients.add(res);
      const drop = (): void => {
        this.clients.delete(res);
      };
      req.once('close', drop);
      res.once('error', drop);
    });
  }

  async start(): Promise<void> {
    const { bus, errors } = this.ctx;
    this.unsubscribe.push(bus.on('camera.result', this.name, ({ result, image }) => this.broadcast('result', timelineItem(result, Boolean(image)))));
    this.unsubscribe.push(bus.on('camera.alert', this.name, ({ alert }) => this.broadcast('alert', alert)));
    this.unsubscribe.push(bus.on('voice.response', this.name, (v) => this.broadcast('voice', { ...v, ts: new Date().toISOString() })));
    errors.onReport((r) => this.broadcast('error', r));
    this.timer = setInterval(() => this.write(': ping\n\n'), HEARTBEAT_MS);
    this.timer.unref();
  }

  private broadcast(event: string, data: unknown): void {
    if (this.stopped) return;
    // JSON never contains a raw newline, so one `data:` line carries the whole event
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.destroyed || res.writableEnded) {
        this.clients.delete(res);
        continue;
      }
      res.write(chunk);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
