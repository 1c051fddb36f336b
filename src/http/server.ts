import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.js';
import { HttpError, sendJson, sendText } from './respond.js';

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  params: Record<string, string>;
}
export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

/** Decides whether a request may reach a route; returns an HttpError to refuse it. */
export type AccessGuard = (req: http.IncomingMessage, url: URL, route: { path: string; public: boolean }) => HttpError | undefined;

interface Route {
  method: string;
  path: string;
  re: RegExp;
  keys: string[];
  handler: RouteHandler;
  public: boolean;
}

/** `/api/events/:id/snapshot.jpg` -> a RegExp with named segments (no `/` inside a segment). */
function compile(path: string): { re: RegExp; keys: string[] } {
  const keys: string[] = [];
  const body = path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        const m = /^:([a-zA-Z_]+)(.*)$/.exec(seg);
        keys.push(m?.[1] ?? seg.slice(1));
        return `([^/]+)${(m?.[2] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      }
      if (seg === '*') {
        keys.push('rest');
        return '(.*)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { re: new RegExp(`^${body}$`), keys };
}

/**
 * The bridge's one HTTP server (health, metrics, API, UI, TTS media). A tiny router on
 * node:http: routes are registered by the modules that own them, before or after start().
 * Home Assistant ingress strips its prefix and sends `X-Ingress-Path`; the UI uses relative URLs.
 */
export class HttpServer {
  private server?: http.Server;
  private readonly routes: Route[] = [];
  private guard: AccessGuard = () => undefined;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly wantedPort: number,
    private readonly log: Logger,
  ) {}

  /** `public` routes (health, metrics, TTS media) skip the access guard. */
  route(method: string, path: string, handler: RouteHandler, opts: { public?: boolean } = {}): void {
    const { re, keys } = compile(path);
    this.routes.push({ method: method.toUpperCase(), path, re, keys, handler, public: opts.public ?? false });
  }

  setGuard(guard: AccessGuard): void {
    this.guard = guard;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.requestTimeout = 120_000;
    server.headersTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.wantedPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // after listen, an accept failure (EMFILE...) must be a log line, not an unhandled 'error'
    server.on('error', (err) => this.log.error({ module: 'http', err }, 'HTTP server error'));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.log.info({ module: 'http', host: this.host, port: this.port }, 'HTTP server listening');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendText(res, 400, 'bad request URL');
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const refused = r.public ? undefined : this.guard(req, url, r);
      if (refused) {
        sendJson(res, refused.status, { error: refused.message });
        return;
      }
      const params: Record<string, string> = {};
      let badParam = false;
      r.keys.forEach((k, i) => {
        try {
          params[k] = decodeURIComponent(m[i + 1] ?? '');
        } catch {
          badParam = true;
        }
      });
      if (badParam) {
        sendJson(res, 400, { error: 'malformed URL encoding' });
        return;
      }
      try {
        await r.handler({ req, res, url, params });
      } catch (err) {
        if (err instanceof HttpError) {
          if (!res.headersSent) sendJson(res, err.status, { error: err.message });
          else res.end();
        } else {
          this.log.error({ module: 'http', path: url.pathname, err }, 'request handler failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
          else res.end();
        }
      }
      return;
    }
    sendJson(res, pathMatched ? 405 : 404, { error: pathMatched ? 'method not allowed' : 'not found' });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
