/**
 * A Wyoming test client written from the protocol description, independent of src/wyoming:
 * a header line `{"type", "data_length"?, "payload_length"?}\n`, then the data JSON bytes,
 * then the payload bytes. It also sends raw bytes, for the bad-input tests.
 */
import net from 'node:net';

export interface RawEvent {
  type: string;
  data: Record<string, unknown>;
  payload: Buffer;
}

export class RawWyomingClient {
  private buf = Buffer.alloc(0);
  readonly events: RawEvent[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawWyomingClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawWyomingClient(s)));
      s.once('error', reject);
    });
  }

  send(type: string, data?: Record<string, unknown>, payload?: Buffer): void {
    const dataBytes = data ? Buffer.from(JSON.stringify(data), 'utf8') : Buffer.alloc(0);
    const header: Record<string, unknown> = { type };
    if (dataBytes.length) header['data_length'] = dataBytes.length;
    if (payload?.length) header['payload_length'] = payload.length;
    this.socket.write(Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), dataBytes, payload ?? Buffer.alloc(0)]));
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  private parse(): void {
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) break;
      const header = JSON.parse(this.buf.subarray(0, nl).toString('utf8')) as { type: string; data?: Record<string, unknown>; data_length?: number; payload_length?: number };
      const dl = header.data_length ?? 0;
      const pl = header.payload_length ?? 0;
      if (this.buf.length < nl + 1 + dl + pl) break;
      const data = dl ? (JSON.parse(this.buf.subarray(nl + 1, nl + 1 + dl).toString('utf8')) as Record<string, unknown>) : {};
      const payload = Buffer.from(this.buf.subarray(nl + 1 + dl, nl + 1 + dl + pl));
      this.buf = this.buf.subarray(nl + 1 + dl + pl);
      this.events.push({ type: header.type, data: { ...(header.data ?? {}), ...data }, payload });
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits for an event of `type` (after any already consumed index `from`). */
  waitFor(type: string, timeoutMs = 10_000): Promise<RawEvent> {
    return this.waitForAny([type], timeoutMs);
  }

  /** Waits for the first event of any of `types`. */
  async waitForAny(types: string[], timeoutMs = 10_000): Promise<RawEvent> {
    const type = types.join(' or ');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => types.includes(x.type));
      if (e) return e;
      if (this.closed) throw new Error(`connection closed before a ${type} event; got ${this.events.map((x) => x.type).join(', ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} event within ${timeoutMs} ms; got ${this.events.map((x) => x.type).join(', ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
