import WebSocket from 'ws';
import { ERR_CANNOT_CONNECT, ERR_INVALID_AUTH, type HaWebSocket } from 'home-assistant-js-websocket';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';

export interface HaSocketOptions {
  /** ws(s)://.../api/websocket, or .../core/websocket through the Supervisor proxy. */
  url: string;
  token: string;
  log: Logger;
  /** Deadline for connect + auth (ms): a peer that accepts TCP but never says auth_ok. */
  timeoutMs: number;
  /** HA's `auth_invalid` message, said once per refusal. */
  onAuthInvalid: (message: string) => void;
  /** Every frame received, before parsing: the heartbeat's "HA is alive" signal. */
  onFrame: () => void;
  /** Aborts a connect still in its handshake or auth phase (the client is stopping). */
  signal: AbortSignal;
}

type Listener = (ev: { data: unknown }) => void;

/**
 * The socket home-assistant-js-websocket's Connection runs on: a `ws` client (Node 20 has no
 * global WebSocket, and we keep globalThis untouched) that does HA's auth phase itself. Ours,
 * not the library's createSocket, because: the library derives the URL from `hassUrl` +
 * `/api/websocket`, which is wrong behind the Supervisor proxy (`/core/websocket`); its auth
 * phase and its message handler JSON.parse without a guard, so one non-JSON frame from HA
 * would throw out of the socket's event handler and take the process down; and it has no
 * deadline for a peer that opens TCP but never answers auth. After auth_ok it sends
 * supported_features {coalesce_messages} with id 1 (as the library's createSocket does), so
 * HA may batch replies as JSON arrays, which the Connection unpacks.
 */
export function openHaSocket(opts: HaSocketOptions): Promise<HaWebSocket & { terminate(): void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url, { handshakeTimeout: opts.timeoutMs, maxPayload: 64 * 1_048_576 });
    let settled = false;
    const fail = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      ws.terminate();
      reject(code);
    };
    const timer = setTimeout(() => {
      opts.log.warn({ module: 'homeassistant' }, `Home Assistant did not complete auth within ${opts.timeoutMs} ms`);
      fail(ERR_CANNOT_CONNECT);
    }, opts.timeoutMs);
    timer.unref();
    const onAbort = () => fail(ERR_CANNOT_CONNECT);
    if (opts.signal.aborted) onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const onAuthPhase = (raw: WebSocket.RawData) => {
      const m = parseFrame(raw, opts.log)[0];
      if (!m) return;
      if (m['type'] === 'auth_required') ws.send(JSON.stringify({ type: 'auth', access_token: opts.token }));
      else if (m['type'] === 'auth_invalid') {
        opts.onAuthInvalid(String(m['message'] ?? ''));
        fail(ERR_INVALID_AUTH);
      } else if (m['type'] === 'auth_ok') {
        settled = true;
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        ws.off('message', onAuthPhase);
        ws.off('close', onEarlyClose);
        ws.send(JSON.stringify({ type: 'supported_features', id: 1, features: { coalesce_messages: 1 } }));
        resolve(adapt(ws, String(m['ha_version'] ?? ''), opts));
      }
    };
    const onEarlyClose = () => fail(ERR_CANNOT_CONNECT);
    ws.on('message', () => opts.onFrame());
    ws.on('message', onAuthPhase);
    ws.on('close', onEarlyClose);
    ws.on('error', (err) => opts.log.warn({ module: 'homeassistant', err: errorMessage(err) }, 'Home Assistant websocket error'));
  });
}

/** JSON objects in one frame (HA coalesces several into an array); anything else is dropped with a warning. */
function parseFrame(raw: WebSocket.RawData, log: Logger): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(raw as Buffer[]).toString('utf8'));
  } catch {
    log.warn({ module: 'homeassistant' }, 'non-JSON websocket message from Home Assistant ignored');
    return [];
  }
  const all = Array.isArray(parsed) ? parsed : [parsed];
  const objects = all.filter((m): m is Record<string, unknown> => !!m && typeof m === 'object' && !Array.isArray(m));
  if (objects.length !== all.length) log.warn({ module: 'homeassistant' }, 'websocket message from Home Assistant that is not a JSON object ignored');
  return objects;
}

/**
 * The authenticated `ws` socket seen through the DOM-style surface the Connection uses
 * (addEventListener for message/close, send, close, readyState). Messages reach the
 * Connection only as clean JSON text (objects, or an array of objects); a listener that
 * throws is logged, never rethrown into ws.
 */
function adapt(ws: WebSocket, haVersion: string, opts: HaSocketOptions): HaWebSocket & { terminate(): void } {
  const wrapped = new Map<Listener, (...args: unknown[]) => void>();
  const socket = {
    haVersion,
    get readyState() {
      return ws.readyState;
    },
    OPEN: WebSocket.OPEN,
    CLOSED: WebSocket.CLOSED,
    send: (data: string) => ws.send(data),
    close: () => ws.close(),
    terminate: () => ws.terminate(),
    addEventListener(type: string, listener: Listener) {
      let w: (...args: unknown[]) => void;
      if (type === 'message') {
        w = (raw) => {
          const objects = parseFrame(raw as WebSocket.RawData, opts.log);
          if (objects.length === 0) return;
          guarded(() => listener({ data: JSON.stringify(objects.length === 1 ? objects[0] : objects) }), opts.log);
        };
      } else if (type === 'close') {
        w = () => guarded(() => listener({ data: undefined }), opts.log);
      } else return;
      wrapped.set(listener, w);
      ws.on(type, w);
    },
    removeEventListener(type: string, listener: Listener) {
      const w = wrapped.get(listener);
      if (!w) return;
      wrapped.delete(listener);
      ws.off(type, w);
    },
  };
  return socket as unknown as HaWebSocket & { terminate(): void };
}

function guarded(fn: () => void, log: Logger): void {
  try {
    fn();
  } catch (err) {
    log.error({ module: 'homeassistant', err: errorMessage(err) }, 'handling a Home Assistant message failed');
  }
}
