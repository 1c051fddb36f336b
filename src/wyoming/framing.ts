/**
 * Wyoming protocol framing (https://github.com/rhasspy/wyoming): each event is a JSON header
 * line `{type, data?, data_length?, payload_length?, version?}\n`, then `data_length` bytes of
 * JSON data (merged over any inline `data`), then `payload_length` bytes of payload. Every
 * size is bounded before a byte of it is buffered: a peer cannot make us hold more than the
 * limits below.
 */

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

export interface FramingLimits {
  /** Longest header line (bytes). */
  maxHeaderBytes: number;
  /** Largest data section (bytes). */
  maxDataBytes: number;
  /** Largest payload of one event (bytes); an audio chunk is a few KB. */
  maxPayloadBytes: number;
}

export const DEFAULT_LIMITS: FramingLimits = { maxHeaderBytes: 64 * 1024, maxDataBytes: 1024 * 1024, maxPayloadBytes: 4 * 1024 * 1024 };

/** The protocol version we speak (sent in every header, like the Python library). */
export const WYOMING_VERSION = '1.5.4';

/** A peer broke the framing; the connection cannot continue. */
export class WyomingProtocolError extends Error {
  override readonly name = 'WyomingProtocolError';
}

/** One event -> bytes exactly as the protocol lays them out. */
export function encodeEvent(type: string, data?: Record<string, unknown>, payload?: Buffer): Buffer {
  const dataBytes = data && Object.keys(data).length > 0 ? Buffer.from(JSON.stringify(data), 'utf8') : undefined;
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  if (dataBytes) header['data_length'] = dataBytes.length;
  if (payload && payload.length > 0) header['payload_length'] = payload.length;
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(header)}\n`, 'utf8')];
  if (dataBytes) parts.push(dataBytes);
  if (payload && payload.length > 0) parts.push(payload);
  return Buffer.concat(parts);
}

type State = { kind: 'header' } | { kind: 'body'; type: string; inline: Record<string, unknown>; dataLength: number; payloadLength: number };

/** Incremental decoder: push() socket bytes, get complete events back. Throws WyomingProtocolError. */
export class WyomingDecoder {
  private buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private state: State = { kind: 'header' };

  constructor(private readonly limits: FramingLimits = DEFAULT_LIMITS) {}

  /** True while part of an event has arrived and the rest has not (a header, data or payload is owed). */
  get midEvent(): boolean {
    return this.buf.length > 0 || this.state.kind === 'body';
  }

  push(chunk: Buffer): WyomingEvent[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf as Uint8Array, chunk as Uint8Array]);
    const events: WyomingEvent[] = [];
    for (;;) {
      if (this.state.kind === 'header') {
        const nl = this.buf.indexOf(0x0a);
        if (nl < 0) {
          if (this.buf.length > this.limits.maxHeaderBytes) {
            throw new WyomingProtocolError(`header line longer than ${this.limits.maxHeaderBytes} bytes`);
          }
          return events;
        }
        if (nl > this.limits.maxHeaderBytes) throw new WyomingProtocolError(`header line longer than ${this.limits.maxHeaderBytes} bytes`);
        const line = this.buf.subarray(0, nl);
        this.buf = this.buf.subarray(nl + 1);
        this.state = this.parseHeader(line);
      } else {
        const { dataLength, payloadLength } = this.state;
        if (this.buf.length < dataLength + payloadLength) return events;
        let data = this.state.inline;
        if (dataLength > 0) data = { ...data, ...parseJsonObject(this.buf.subarray(0, dataLength), 'event data') };
        const payload = payloadLength > 0 ? Buffer.from(this.buf.subarray(dataLength, dataLength + payloadLength)) : undefined;
        this.buf = this.buf.subarray(dataLength + payloadLength);
        events.push(payload ? { type: this.state.type, data, payload } : { type: this.state.type, data });
        this.state = { kind: 'header' };
      }
    }
  }

  private parseHeader(line: Buffer): State {
    const header = parseJsonObject(line, 'header');
    const type = header['type'];
    if (typeof type !== 'string' || type.length === 0 || type.length > 64) throw new WyomingProtocolError('header has no event type');
    const dataLength = length(header['data_length'], 'data_length', this.limits.maxDataBytes);
    const payloadLength = length(header['payload_length'], 'payload_length', this.limits.maxPayloadBytes);
    const inline = header['data'];
    if (inline !== undefined && inline !== null && (typeof inline !== 'object' || Array.isArray(inline))) {
      throw new WyomingProtocolError('header data must be a JSON object');
    }
    return { kind: 'body', type, inline: (inline ?? {}) as Record<string, unknown>, dataLength, payloadLength };
  }
}

function length(v: unknown, name: string, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new WyomingProtocolError(`${name} must be a non-negative integer`);
  if (v > max) throw new WyomingProtocolError(`${name} of ${v} bytes exceeds the limit of ${max} bytes`);
  return v;
}

function parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new WyomingProtocolError(`${what} is not valid UTF-8`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new WyomingProtocolError(`${what} is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WyomingProtocolError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}
