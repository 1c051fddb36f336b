import net from 'node:net';
import { BackendError, TimeoutError } from '../core/errors.js';
import { DEFAULT_LIMITS, WyomingDecoder, WyomingProtocolError, encodeEvent, type FramingLimits, type WyomingEvent } from './framing.js';

/**
 * One Wyoming TCP connection seen as a stream of events, for the client side: `send()`
 * events, `next()` waits for the following one (bounded by a timeout). Events that arrive
 * before anyone asks are queued (bounded by the framing limits times MAX_QUEUED).
 */
const MAX_QUEUED = 4096;

export class WyomingConnection {
  private readonly decoder: WyomingDecoder;
  private readonly queue: WyomingEvent[] = [];
  private waiter?: { resolve: (e: WyomingEvent) => void; reject: (err: Error) => void };
  private failure?: Error;

  private constructor(
    private readonly socket: net.Socket,
    limits: FramingLimits,
  ) {
    this.decoder = new WyomingDecoder(limits);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new BackendError(`Wyoming connection failed: ${err.message}`)));
    socket.on('close', () => this.fail(new BackendError('Wyoming server closed the connection')));
  }

  /** Connects to `tcp://host:port` within `timeoutMs`. */
  static connect(url: string, timeoutMs: number, limits: FramingLimits = DEFAULT_LIMITS): Promise<WyomingConnection> {
    const { host, port } = parseTcpUrl(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`Wyoming server ${host}:${port} did not accept a connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new WyomingConnection(socket, limits));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new BackendError(`cannot connect to Wyoming server ${host}:${port}: ${err.message}`));
      });
    });
  }

  send(type: string, data?: Record<string, unknown>, payload?: Buffer): void {
    if (this.failure) throw this.failure;
    this.socket.write(encodeEvent(type, data, payload));
  }

  /** The next event, or a TimeoutError after `timeoutMs`. */
  next(timeoutMs: number): Promise<WyomingEvent> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError(`no answer from the Wyoming server within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let events: WyomingEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err instanceof WyomingProtocolError ? new BackendError(`Wyoming server broke the protocol: ${err.message}`) : (err as Error));
      this.socket.destroy();
      return;
    }
    for (const e of events) {
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        w.resolve(e);
      } else if (this.queue.length < MAX_QUEUED) {
        this.queue.push(e);
      } else {
        this.fail(new BackendError('Wyoming server sent too many events without being asked'));
        this.socket.destroy();
        return;
      }
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }
}

/** `tcp://host:port` -> parts; anything else is a clear error. */
export function parseTcpUrl(url: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(url);
  const port = Number(m?.[2]);
  if (!m?.[1] || !(port > 0 && port < 65_536)) throw new BackendError(`Wyoming url must look like tcp://host:port, got ${JSON.stringify(url)}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
