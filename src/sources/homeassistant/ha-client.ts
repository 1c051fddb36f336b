import { Connection, ERR_INVALID_AUTH, callService as libCallService, type HaWebSocket } from 'home-assistant-js-websocket';
import { BackendError, DisposedError, InputError, TimeoutError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { openHaSocket } from './ha-socket.js';
import { haUrls, type HaUrls } from './urls.js';

export interface HaClientOptions {
  url: string;
  token: string;
  log: Logger;
  /**
   * Backoff bounds (ms) for the first connect and for retries after auth_invalid. A live
   * connection that drops is reopened on the library's schedule: at once, then 1, 2, ... 5 s.
   */
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

/** Largest camera_proxy image read (bytes). */
export const MAX_CAMERA_BYTES = 20 * 1_048_576;

interface Subscription {
  eventType: string;
  handler: HaEventHandler;
  /** The Connection it is subscribed on (the library restores it there after reconnects). */
  on?: Connection;
}

type Socket = HaWebSocket & { terminate(): void };

/**
 * Home Assistant over its websocket, on home-assistant-js-websocket's Connection (command
 * ids, results matched by id, coalesced JSON-array replies, subscriptions restored after a
 * reconnect, reconnect backoff) with our `ws` socket underneath (ha-socket.ts says why), plus
 * what the library lacks and SARAi needs:
 *  - start() does not wait for HA and keeps trying (the library gives up on a first connect
 *    that fails, and stops for good after an auth_invalid on reconnect);
 *  - a deadline per command (the library waits forever);
 *  - a ping/pong heartbeat that notices a connection which died without a FIN;
 *  - fire_event tolerant of a non-admin token (HA requires admin for it);
 *  - the REST camera proxy.
 */
export class HaClient {
  readonly urls: HaUrls;
  private conn?: Connection;
  private socket?: Socket;
  /** Socket still in its auth phase (stop() must be able to end it). */
  private opening?: Promise<unknown>;
  private readonly subscriptions: Subscription[] = [];
  private ready = false;
  private closed = true;
  private delay: number;
  private retryTimer?: NodeJS.Timeout;
  private readyWaiters: (() => void)[] = [];
  private lastHeardAt = 0;
  private heartbeat?: NodeJS.Timeout;
  /** Set when HA refused fire_event as unauthorized: the token's user is not an admin. */
  private fireEventRefused = false;
  /** Aborted by stop(): ends a connect still in its handshake. */
  private stopping = new AbortController();

  constructor(private readonly opts: HaClientOptions) {
    this.urls = haUrls(opts.url);
    this.delay = opts.reconnectMinMs ?? 1_000;
  }

  get connected(): boolean {
    return this.ready && !!this.conn?.connected;
  }

  /** Starts connecting (and keeps reconnecting); does not wait for HA. */
  start(): void {
    if (!this.closed) return;
    this.closed = false;
    this.stopping = new AbortController();
    void this.connect();
  }

  /** Resolves once authenticated (or rejects after timeoutMs). */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new TimeoutError(`Home Assistant not connected within ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** A fresh socket for the Connection (first connect and every library reconnect). */
  private async createSocket(): Promise<HaWebSocket> {
    if (this.closed) throw new DisposedError('Home Assistant client is stopped');
    const opening = openHaSocket({
      url: this.urls.websocket,
      token: this.opts.token,
      log: this.opts.log,
      timeoutMs: this.opts.commandTimeoutMs ?? 10_000,
      signal: this.stopping.signal,
      onFrame: () => (this.lastHeardAt = Date.now()),
      onAuthInvalid: (message) =>
        this.opts.onProblem?.(`Home Assistant refused the token (auth_invalid: ${message}); set homeassistant.token to a long-lived access token`),
    });
    this.opening = opening;
    const socket = await opening.finally(() => (this.opening = undefined));
    if (this.closed) {
      socket.terminate();
      throw new DisposedError('Home Assistant client is stopped');
    }
    this.socket = socket;
    this.lastHeardAt = Date.now();
    return socket;
  }

  /** First connect, and again after auth_invalid: the library retries neither. */
  private async connect(): Promise<void> {
    if (this.closed) return;
    try {
      const socket = await this.createSocket();
      const conn = new Connection(socket, { setupRetry: 0, createSocket: () => this.createSocket() });
      this.conn = conn;
      conn.addEventListener('ready', () => void this.onConnReady(conn));
      conn.addEventListener('disconnected', () => this.onConnLost(conn));
      conn.addEventListener('reconnect-error', () => this.onConnLost(conn, true));
      // Connection fires its first 'ready' inside the constructor, before our listener
      await this.onConnReady(conn);
    } catch (err) {
      if (this.closed) return;
      const invalidAuth = err === ERR_INVALID_AUTH;
      this.opts.log.warn({ module: 'homeassistant', url: this.urls.websocket, err: invalidAuth ? 'auth_invalid' : errorMessage(err) }, 'connecting to Home Assistant failed; retrying');
      // do not hammer HA with a bad token
      this.retryLater(invalidAuth ? (this.opts.reconnectMaxMs ?? 30_000) : this.delay);
    }
  }

  private retryLater(ms: number): void {
    this.retryTimer = setTimeout(() => void this.connect(), ms);
    this.retryTimer.unref();
    this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxMs ?? 30_000);
  }

  private async onConnReady(conn: Connection): Promise<void> {
    if (this.conn !== conn || this.closed || this.ready) return;
    this.ready = true;
    this.delay = this.opts.reconnectMinMs ?? 1_000;
    this.startHeartbeat();
    this.opts.log.info({ module: 'homeassistant', url: this.urls.websocket }, 'connected to Home Assistant');
    // The library restores subscriptions made on this Connection; new ones (made while no
    // Connection existed, or on a Connection that has since been replaced) start here.
    try {
      for (const s of this.subscriptions) if (s.on !== conn) await this.attach(s, conn);
    } catch (err) {
      this.opts.log.warn({ module: 'homeassistant', err: errorMessage(err) }, 'subscribing to Home Assistant events failed');
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

  private onConnLost(conn: Connection, gaveUp = false): void {
    if (this.conn !== conn) return;
    this.stopHeartbeat();
    const wasReady = this.ready;
    this.ready = false;
    if (this.closed) return;
    if (gaveUp) {
      // auth_invalid on reconnect: the library stops; we keep trying, slowly
      this.conn = undefined;
      conn.close();
      this.retryLater(this.opts.reconnectMaxMs ?? 30_000);
    } else if (wasReady) this.opts.log.warn({ module: 'homeassistant' }, 'Home Assistant connection lost; reconnecting');
  }

  /** Pings when HA has been quiet for heartbeatMs; a missing pong drops the socket (the library reconnects). */
  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.opts.heartbeatMs ?? 30_000;
    const socket = this.socket;
    if (every <= 0 || !socket) return;
    let pinging = false;
    this.heartbeat = setInterval(() => {
      if (pinging || this.socket !== socket || Date.now() - this.lastHeardAt < every) return;
      pinging = true;
      this.command({ type: 'ping' }).then(
        () => (pinging = false),
        (err: unknown) => {
          pinging = false;
          if (this.socket !== socket || this.closed) return;
          this.opts.log.warn({ module: 'homeassistant', err: errorMessage(err) }, 'Home Assistant did not answer a ping; reconnecting');
          socket.terminate(); // 'close' follows: the Connection fails what is in flight and reconnects
        },
      );
    }, Math.max(10, Math.floor(every / 2)));
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Runs one library command with a deadline; library rejections become named errors. */
  private async deadline<T>(what: string, run: (conn: Connection) => Promise<T>): Promise<T> {
    if (this.closed) throw new DisposedError('Home Assistant client is stopped');
    const conn = this.conn;
    if (!conn || !this.connected) throw new BackendError('Home Assistant is not connected');
    const timeoutMs = this.opts.commandTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`Home Assistant did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([run(conn).catch((e: unknown) => Promise.reject(haError(e))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a command; resolves with its `result`, rejects on `success: false` or timeout. */
  command(msg: Record<string, unknown>): Promise<unknown> {
    return this.deadline(String(msg['type']), (conn) => conn.sendMessagePromise({ ...msg, type: String(msg['type']) }));
  }

  private async attach(s: Subscription, conn: Connection): Promise<void> {
    s.on = conn;
    await this.deadline('subscribe_events', (c) =>
      c.subscribeEvents((ev: { event_type?: string; data?: Record<string, unknown> }) => {
        try {
          s.handler({ event_type: String(ev?.event_type ?? ''), data: ev?.data ?? {} });
        } catch (err) {
          this.opts.log.error({ module: 'homeassistant', err }, 'event handler failed');
        }
      }, s.eventType),
    ).catch((err: unknown) => {
      if (s.on === conn) s.on = undefined; // retried on the next 'ready'
      throw err;
    });
  }

  /** Subscribes to an HA event type, now and after every reconnect. */
  async subscribeEvents(eventType: string, handler: HaEventHandler): Promise<void> {
    const s: Subscription = { eventType, handler };
    this.subscriptions.push(s);
    if (this.conn && this.connected) await this.attach(s, this.conn);
  }

  /**
   * Fires an HA event (`sarai_result`, `sarai_alert`) for automations. HA only lets an
   * administrator's token fire events; with any other token HA answers `unauthorized`: that
   * is said once (onProblem: which token to use, and that the MQTT event entities carry the
   * same results without admin rights) and later calls return at once instead of failing
   * every result, until the bridge restarts (with, perhaps, another token).
   */
  async fireEvent(eventType: string, eventData: Record<string, unknown>): Promise<void> {
    if (this.fireEventRefused) return;
    try {
      await this.command({ type: 'fire_event', event_type: eventType, event_data: eventData });
    } catch (err) {
      if (!(err instanceof HaCommandError) || err.code !== 'unauthorized') throw err;
      this.fireEventRefused = true;
      this.opts.onProblem?.(
        'Home Assistant refused fire_event (unauthorized): only an administrator\'s token may fire events; sarai_result/sarai_alert events are off. ' +
          "Use an admin user's long-lived token, or trigger automations on SARAi's MQTT event entities instead",
      );
    }
  }

  /** Calls an HA service, e.g. callService('media_player', 'play_media', {...}, {entity_id}). */
  async callService(domain: string, service: string, serviceData: Record<string, unknown> = {}, target?: Record<string, unknown>): Promise<unknown> {
    return this.deadline(`call_service ${domain}.${service}`, (conn) => libCallService(conn, domain, service, serviceData, target as Parameters<typeof libCallService>[4]));
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
    this.stopping.abort();
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const conn = this.conn;
    const socket = this.socket;
    this.conn = undefined;
    this.socket = undefined;
    await this.opening?.catch(() => undefined); // aborted above: its socket is terminated
    if (!conn || !socket) return;
    const gone = new Promise<void>((resolve) => {
      if (socket.readyState === socket.CLOSED) resolve();
      else socket.addEventListener('close', () => resolve());
    });
    conn.close(); // closeRequested: the library fails what is in flight and does not reconnect
    socket.terminate();
    await gone;
  }
}

/** A command HA answered with `success: false`: its error code (`not_found`, `unauthorized`, `id_reuse`...). */
export class HaCommandError extends BackendError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`Home Assistant: ${code}: ${message}`);
  }
  override readonly name: string = 'HaCommandError';
}

/** The library rejects with HA's `{code, message}` error object or a numeric ERR_* constant. */
function haError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (e && typeof e === 'object' && 'code' in e) {
    const { code, message } = e as { code: unknown; message?: unknown };
    if (typeof code === 'string') return new HaCommandError(code, String(message ?? 'command failed'));
  }
  return new BackendError('Home Assistant connection closed');
}
