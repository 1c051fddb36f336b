import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
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

/** The token a request presents: `Authorization: Bearer`, the UI cookie, or `?token=`. */
export function presentedToken(req: http.IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return cookieValue(req.headers.cookie, TOKEN_COOKIE) ?? url.searchParams.get('token') ?? undefined;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!expected || given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Who may reach the UI and API (public routes — /healthz, /metrics, TTS media — skip this):
 * - add-on: the ingress proxy (172.30.32.2), or anyone presenting the configured token;
 * - standalone on a loopback host: everyone (only local processes can connect);
 * - standalone on another host: loopback peers, or the token. Without a configured token,
 *   remote peers are refused with a message saying how to let them in.
 */
export function createAccessGuard(policy: AccessPolicy): AccessGuard {
  const hostIsLoopback = isLoopback(policy.host);
  return (req, url) => {
    const peer = peerAddress(req);
    const token = presentedToken(req, url);
    if (policy.addon) {
      if (peer === INGRESS_PROXY_ADDRESS) return undefined;
      if (tokenMatches(policy.token, token)) return undefined;
      if (token !== undefined && policy.token) return new HttpError(401, 'invalid token');
      return new HttpError(403, 'open SARAi from the Home Assistant sidebar (ingress), or send the configured http_token');
    }
    if (hostIsLoopback || isLoopback(peer)) return undefined;
    if (!policy.token) return new HttpError(403, 'remote access needs http.token in the configuration');
    if (tokenMatches(policy.token, token)) return undefined;
    return new HttpError(401, token === undefined ? 'this server needs a token (Authorization: Bearer <http.token>)' : 'invalid token');
  };
}
