import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { HttpError } from './respond.js';
import type { AccessGuard } from './server.js';

/** The Supervisor's ingress proxy: the only peer an add-on's UI traffic comes from. */
export const INGRESS_PROXY_ADDRESS = '172.30.32.2';

/** Cookie the UI gets after opening it once with `?token=`, so its fetches carry the token. */
export const TOKEN_COOKIE = 'sarai_token';

export interface AccessPolicy {
  /** Running as a Home Assistant add-on (SUPERVISOR_TOKEN is set). */
  addon: boolean;
  /** `http.token`; empty means none configured. */
  token: string;
  /** `http.host` the server binds to. */
  host: string;
}

/** Strips the IPv4-mapped IPv6 prefix Node reports on dual-stack sockets. */
export function peerAddress(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(address);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const LITERAL_HOST = /^(?:localhost|(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-f:.]+)\])(?::\d{1,5})?$/i;

/**
 * A `Host` header no DNS name can produce: exactly `localhost`, an IPv4 literal or a bracketed
 * IPv6 literal, each with an optional port. A page on evil.example whose name rebinds to
 * 127.0.0.1 still sends `Host: evil.example`, so this tells the user's browser from that page.
 */
export function hostCannotRebind(host: string | undefined): boolean {
  const m = host === undefined ? null : LITERAL_HOST.exec(host);
  if (!m) return false;
  if (m[1] !== undefined) return isIPv4(m[1]);
  if (m[2] !== undefined) return isIPv6(m[2]);
  return true;
}

/** The token a request presents: `Authorization: Bearer`, the UI cookie, or `?token=`. */
export function presentedToken(req: http.IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return cookieValue(req.headers.cookie, TOKEN_COOKIE) ?? url.searchParams.get('token') ?? undefined;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  return expected !== '' && given !== undefined && sameBytes(Buffer.from(expected), given);
}

function sameBytes(expected: Buffer, given: string): boolean {
  const b = Buffer.from(given);
  return expected.length === b.length && timingSafeEqual(expected, b);
}

/**
 * Who may reach the UI and API (public routes — /healthz, /metrics, TTS media — skip this):
 * - add-on: the ingress proxy (172.30.32.2), or anyone presenting the configured token;
 * - standalone on a loopback host: everyone (only local processes can connect);
 * - standalone on another host: loopback peers, or the token. Without a configured token,
 *   remote peers are refused with a message saying how to let them in.
 * Standalone, whoever is let in only for being local must also name the server by address or
 * `localhost` (see hostCannotRebind): otherwise any web page could reach it by DNS rebinding.
 */
export function createAccessGuard(policy: AccessPolicy): AccessGuard {
  const hostIsLoopback = isLoopback(policy.host);
  const expected = policy.token ? Buffer.from(policy.token) : undefined;
  /**
   * The token rule, read only for requests not already let in by where they come from: the
   * configured token passes, a wrong one is a 401, none (or none configured) gets `otherwise`.
   */
  const byToken = (req: http.IncomingMessage, url: URL, otherwise: () => HttpError): HttpError | undefined => {
    const token = presentedToken(req, url);
    if (expected && token !== undefined) return sameBytes(expected, token) ? undefined : new HttpError(401, 'invalid token');
    return otherwise();
  };
  return (req, url) => {
    const peer = peerAddress(req);
    if (policy.addon) {
      if (peer === INGRESS_PROXY_ADDRESS) return undefined;
      return byToken(req, url, () => new HttpError(403, 'open SARAi from the Home Assistant sidebar (ingress), or send the configured http_token'));
    }
    if (hostIsLoopback || isLoopback(peer)) {
      // no Host at all is only HTTP/1.0 (Node answers 400 to HTTP/1.1 without one); curl and
      // fetch always send it, so refusing leaves no way around the check at no cost
      if (hostCannotRebind(req.headers.host)) return undefined;
      return byToken(req, url, () => notByAddress(req));
    }
    if (!expected) return new HttpError(403, 'remote access needs http.token in the configuration');
    return byToken(req, url, () => new HttpError(401, 'this server needs a token (Authorization: Bearer <http.token>)'));
  };
}

function notByAddress(req: http.IncomingMessage): HttpError {
  const host = req.headers.host;
  const port = req.socket.localPort ? `:${req.socket.localPort}` : '';
  const what = host === undefined ? 'a request without a Host header' : `Host ${JSON.stringify(host.slice(0, 100))}`;
  return new HttpError(
    403,
    `refusing ${what}: a DNS name could be rebound to this machine by any web page. ` +
      `Open SARAi at http://127.0.0.1${port} or http://localhost${port}, or configure http.token and send it (Authorization: Bearer <token>, or ?token= once)`,
  );
}
