import WebSocket from 'ws';
import { BackendError, DisposedError, InputError, TimeoutError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { haUrls, type HaUrls } from './urls.js';

export interface HaClientOptions {
  url: string;
  token: string;
  log: Logger;
  /** Backoff bounds between reconnects (ms). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Deadline of one command (ms). */
  commandTimeoutMs?: number;
  /**
   * After this long without a message from HA (ms), send a `ping`; no `pong` within
   * commandTimeoutMs means the connection is dead (HA hung, or a NAT/proxy dropped it
   * without a FIN) and it is reopened. 0 turns the heartbeat off. Default 30 s.
   */
  heartbeatMs?: number;
  /** Called when the connection is (re)established and authenticated. */
  onReady?: () => void | Promise<void>;
  /** Called for auth failures and connection errors worth a sarai/error. */
  onProblem?: (message: string) => void;
}

export type HaEventHandler = (event: { event_type: string; data: Record<string, unknown> }) => void;

interface PendingCommand {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Largest camera_proxy image read (bytes). */
export const MAX_CAMERA_BYTES = 20 * 1_048_576;

/**
 * A Home Assistant websocket client on `ws`: auth_required -> auth -> auth_ok, then
 * supported_features {coalesce_messages} (so replies may arrive as JSON arrays), commands
 * matched to results by id, event subscriptions restored after every reconnect, and
 * reconnects with exponential backoff (HA restarts are routine), and a ping/pong heartbeat
 * that notices a connection which died silently. Plus the REST camera proxy.
 */
export class HaClient {
  readonly urls: HaUrls;
  private ws?: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, PendingCommand>();
  private readonly subscriptions: { eventType: string; handler: HaEventHandler; id?: number }[] = [];
  private readonly byId = new Map<number, HaEventHandler>();
  private ready = false;
  private closed = false;
  private delay: number;
  private retryTimer?: NodeJS.Timeout;
  private readyWaiters: (() => void)[] = [];
  private lastHeardAt = 0;
  private heartbeat?: NodeJS.Timeout;

  constructor(private readonly opts: HaClientOptions) {
    this.urls = haUrls(opts.url);
    this.delay = opts.reconnectMinMs ?? 1_000;
  }

  get connected(): boolean {
    return this.ready;
  }

  /** Starts connecting (and keeps reconnecting); does not wait for HA. */
  start(): void {
    this.closed = false;
    this.open();
  }

  /** Resolves once authenticated (or rejects after timeoutMs). */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new TimeoutError(`Home Assistant not connected within ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private open(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.urls.websocket, { handshakeTimeout: 10_000, maxPayload: 64 * 1_048_576 });
    this.ws = ws;
    ws.on('message', (data: WebSocket.RawData) => {
      this.lastHeardAt = Date.now();
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
      } catch {
        this.opts.log.warn({ module: 'homeassistant' }, 'non-JSON websocket message ignored');
        return;
      }
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) if (m && typeof m === 'object') this.onMessage(ws, m as Record<string, unknown>);
    });
    ws.on('error', (err) => this.opts.log.warn({ module: 'homeassistant', err: errorMessage(err) }, 'Home Assistant websocket error'));
    ws.on('close', () => this.onClose(ws));
  }

  private onMessage(ws: WebSocket, m: Record<string, unknown>): void {
    switch (m['type']) {
      case 'auth_required':
        ws.send(JSON.stringify({ type: 'auth', access_token: this.opts.token }));
        return;
      case 'auth_ok':
        void this.afterAuth();
        return;
      case 'auth_invalid': {
        const msg = `Home Assistant refused the token (auth_invalid: ${String(m['message'] ?? '')}); set homeassistant.token to a long-lived access token`;
        this.opts.onProblem?.(msg);
        this.delay = this.opts.reconnectMaxMs ?? 30_000; // do not hammer HA with a bad token
        ws.close();
        return;
      }
      case 'pong':
      case 'result': {
        const p = this.pending.get(Number(m['id']));
        if (!p) return;
        this.pending.delete(Number(m['id']));
        clearTimeout(p.timer);
        if (m['type'] === 'pong' || m['success'] === true) p.resolve(m['result']);
        else {
          const e = (m['error'] ?? {}) as { code?: string; message?: string };
          p.reject(new BackendError(`Home Assistant: ${e.code ?? 'error'}: ${e.message ?? 'command failed'}`));
        }
        return;
      }
      case 'event': {
        const h = this.byId.get(Number(m['id']));
        const ev = m['event'] as { event_type?: string; data?: Record<string, unknown> } | undefined;
        if (h && ev) {
          try {
            h({ event_type: String(ev.event_type ?? ''), data: ev.data ?? {} });
          } catch (err) {
            this.opts.log.error({ module: 'homeassistant', err }, 'event handler failed');
          }
        }
        return;
      }
      default:
        return;
    }
  }

  private async afterAuth(): Promise<void> {
    this.ready = true;
    this.startHeartbeat();
    this.delay = this.opts.reconnectMinMs ?? 1_000;
    this.opts.log.info({ module: 'homeassistant', url: this.urls.websocket }, 'connected to Home Assistant');
    try {
      await this.command({ type: 'supported_features', features: { coalesce_messages: 1 } });
      this.byId.clear();
      for (const s of this.subscriptions) await this.sendSubscribe(s);
    } catch (err) {
      this.opts.log.warn({ module: 'homeassistant', err: errorMessage(err) }, 'setting up the Home Assistant session failed');
    }
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
    try {
      await this.opts.onReady?.();
    } catch (err) {
      this.opts.log.error({ module: 'homeassistant', err }, 'onReady failed');
    }
  }

  /** Pings when HA has been quiet for heartbeatMs; a missing pong reopens the connection. */
  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.opts.heartbeatMs ?? 30_000;
    const ws = this.ws;
    if (every <= 0 || !ws) return;
    let pinging = false;
    this.heartbeat = setInterval(() => {
      if (pinging || this.ws !== ws || Date.now() - this.lastHeardAt < every) return;
      pinging = true;
      this.command({ type: 'ping' }).then(
        () => (pinging = false),
        (err: unknown) => {
          pinging = false;
          if (this.ws !== ws || this.closed) return;
          this.opts.log.warn({ module: 'homeassistant', err: errorMessage(err) }, 'Home Assistant did not answer a ping; reconnecting');
          ws.terminate(); // 'close' follows: pending commands fail, backoff reconnect starts
        },
      );
    }, Math.max(10, Math.floor(every / 2)));
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.stopHeartbeat();
    const wasReady = this.ready;
    this.ready = false;
    this.ws = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new BackendError('Home Assistant connection closed'));
      this.pending.delete(id);
    }
    if (this.closed) return;
    if (wasReady) this.opts.log.warn({ module: 'homeassistant' }, 'Home Assistant connection lost; reconnecting with backoff');
    this.retryTimer = setTimeout(() => this.open(), this.delay);
    this.retryTimer.unref();
    this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxMs ?? 30_000);
  }

  /** Sends a command; resolves with its `result`, rejects on `success: false` or timeout. */
  command(msg: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new DisposedError('Home Assistant client is stopped'));
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.ready) return Promise.reject(new BackendError('Home Assistant is not connected'));
    const id = this.nextId++;
    const timeoutMs = this.opts.commandTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`Home Assistant did not answer ${String(msg['type'])} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ id, ...msg }));
    });
  }

  private async sendSubscribe(s: { eventType: string; handler: HaEventHandler; id?: number }): Promise<void> {
    const id = this.nextId; // command() takes this id
    this.byId.set(id, s.handler);
    s.id = id;
    await this.command({ type: 'subscribe_events', event_type: s.eventType });
  }

  /** Subscribes to an HA event type, now and after every reconnect. */
  async subscribeEvents(eventType: string, handler: HaEventHandler): Promise<void> {
    const s = { eventType, handler };
    this.subscriptions.push(s);
    if (this.ready) await this.sendSubscribe(s);
  }

  /** Fires an HA event (`sarai_result`, `sarai_alert`) for automations. */
  async fireEvent(eventType: string, eventData: Record<string, unknown>): Promise<void> {
    await this.command({ type: 'fire_event', event_type: eventType, event_data: eventData });
  }

  /** Calls an HA service, e.g. callService('media_player', 'play_media', {...}, {entity_id}). */
  async callService(domain: string, service: string, serviceData: Record<string, unknown> = {}, target?: Record<string, unknown>): Promise<unknown> {
    return this.command({ type: 'call_service', domain, service, service_data: serviceData, ...(target ? { target } : {}) });
  }

  /**
   * GET /api/camera_proxy/<entity> with the bearer token: the camera's current image bytes.
   * 401/404 and other failures throw errors saying what to fix.
   */
  async cameraSnapshot(entityId: string, timeoutMs = 10_000): Promise<Buffer> {
    if (!/^camera\.[a-z0-9_]+$/.test(entityId)) throw new InputError(`invalid camera entity ${JSON.stringify(entityId.slice(0, 80))}`);
    const res = await fetch(`${this.urls.api}/camera_proxy/${encodeURIComponent(entityId)}`, {
      headers: { authorization: `Bearer ${this.opts.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((err: unknown) => {
      throw new BackendError(`camera_proxy for ${entityId} failed: ${errorMessage(err)}`);
    });
    if (res.status === 401 || res.status === 403) throw new BackendError(`Home Assistant refused camera_proxy for ${entityId} (${res.status}): check homeassistant.token`);
    if (res.status === 404) throw new InputError(`Home Assistant has no camera ${entityId} (camera_proxy 404): check cameras.<id>.camera_entity`);
    if (!res.ok) throw new BackendError(`camera_proxy for ${entityId} answered ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_CAMERA_BYTES) throw new InputError(`camera_proxy image of ${declared} bytes exceeds ${MAX_CAMERA_BYTES} bytes`);
    const buf = Buffer.from(await res.arrayBuffer());
    if (buf.length > MAX_CAMERA_BYTES) throw new InputError(`camera_proxy image of ${buf.length} bytes exceeds ${MAX_CAMERA_BYTES} bytes`);
    return buf;
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.closed = true;
    this.ready = false;
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.ws = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DisposedError('Home Assistant client stopped'));
    }
    this.pending.clear();
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.terminate();
      });
    }
  }
}
