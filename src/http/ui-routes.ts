import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../core/version.js';
import { TOKEN_COOKIE, tokenMatches } from './access.js';
import { HttpError } from './respond.js';
import type { HttpServer, RouteContext } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Content types the UI folder may hold; any other file is never served. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

/**
 * The page may talk only to its own origin (the ingress origin under Home Assistant), and
 * may be framed by it (the HA sidebar panel is an iframe on the same origin).
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface UiFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The UI folder: next to this module (src/ under tsx, dist/ when copied there), else in src/. */
export function findUiDir(): string {
  for (const dir of [path.join(here, 'ui'), path.join(PACKAGE_ROOT, 'src', 'http', 'ui')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error(`the web UI files are missing (looked in ${path.join(here, 'ui')} and src/http/ui)`);
}

/**
 * A fixed map built once from the files in the UI folder (top level only, known types only,
 * regular files only: a symlink is never followed out of the folder):
 * a request names a key in this map, never a path, so nothing outside the folder can be served.
 */
export function loadUiFiles(dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    const full = path.join(dir, name);
    if (!type || !/^[a-z0-9][a-z0-9._-]*$/i.test(name) || !lstatSync(full).isFile()) continue;
    const body = readFileSync(full);
    files.set(name, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
  }
  return files;
}

function send(ctx: RouteContext, file: UiFile, extra: Record<string, string> = {}): void {
  const { req, res } = ctx;
  // no-cache + ETag: the browser revalidates (a cheap 304), so an upgraded add-on never shows a stale UI
  const headers = { 'content-type': file.type, 'cache-control': 'no-cache', etag: file.etag, ...SECURITY_HEADERS, ...extra };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': file.body.length });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/**
 * Serves the dashboard: `/` is index.html, `/ui/<file>` the assets. Every URL in the UI is
 * relative, so it works unchanged under Home Assistant ingress's `/api/hassio_ingress/<token>/`.
 * Opening `/?token=<http.token>` once stores the token in an HttpOnly cookie for the API calls.
 */
export function registerUiRoutes(http: HttpServer, opts: { token: string; dir?: string }): void {
  const files = loadUiFiles(opts.dir ?? findUiDir());
  const index = files.get('index.html');
  if (!index) throw new Error('index.html is missing from the UI folder');
  http.route('GET', '/', (ctx) => {
    const extra: Record<string, string> = {};
    const given = ctx.url.searchParams.get('token');
    if (given !== null && tokenMatches(opts.token, given)) {
      extra['set-cookie'] = `${TOKEN_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000`;
    }
    send(ctx, index, extra);
  });
  http.route('GET', '/ui/:file', (ctx) => {
    const file = files.get(ctx.params['file'] ?? '');
    if (!file) throw new HttpError(404, 'no such UI file');
    send(ctx, file);
  });
}
