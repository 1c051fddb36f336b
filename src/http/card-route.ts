import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../core/version.js';
import type { HttpServer } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CARD_FILE = 'sarai-timeline-card.js';
export const CARD_PATH = `/card/${CARD_FILE}`;

/** The card's file: next to this module (src/ under tsx, dist/ when copied there), else in src/. */
export function findCardFile(): string {
  for (const dir of [path.join(here, 'card'), path.join(PACKAGE_ROOT, 'src', 'http', 'card')]) {
    const file = path.join(dir, CARD_FILE);
    if (existsSync(file)) return file;
  }
  throw new Error(`the Lovelace card is missing (looked in ${path.join(here, 'card')} and src/http/card)`);
}

/**
 * GET /card/sarai-timeline-card.js: the Lovelace card, public (it is code, no data: HA's
 * frontend or a user downloading it into /config/www has no bridge token) and loadable
 * cross-origin as an ES module (CORS), cacheable for an hour and revalidated by ETag.
 */
export function registerCardRoute(http: HttpServer, file = findCardFile()): void {
  const body = readFileSync(file);
  const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
  const headers = {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'public, max-age=3600',
    etag,
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
  };
  http.route('GET', CARD_PATH, ({ req, res }) => {
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  }, { public: true });
}
