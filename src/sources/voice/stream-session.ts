import { InputError } from '../../core/errors.js';
import { bytesPerSecond, checkPcmFormat, type PcmFormat } from '../../media/audio/index.js';

/**
 * One satellite's audio stream between `.../audio/start` and `.../audio/stop`. Holds at most
 * `maxSeconds` of PCM; past that the stream is marked too long, what it held is dropped, and
 * the rest of it is ignored until stop (one error, not one per chunk).
 */
export class StreamSession {
  private chunks: Buffer[] = [];
  private bytes = 0;
  tooLong = false;
  /** ms since epoch of the start or last chunk (the idle timer is reset by each). */
  lastActivity = Date.now();

  constructor(
    readonly format: PcmFormat,
    private readonly maxSeconds: number,
  ) {}

  /** Parses and checks a start payload: JSON {rate, width, channels}. */
  static parseStart(payload: Buffer): PcmFormat {
    let v: unknown;
    try {
      v = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new InputError('audio/start payload must be JSON {"rate":16000,"width":2,"channels":1}');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError('audio/start payload must be a JSON object {rate, width, channels}');
    const o = v as Record<string, unknown>;
    const f: PcmFormat = { rate: Number(o['rate']), width: Number(o['width'] ?? 2), channels: Number(o['channels'] ?? 1) };
    checkPcmFormat(f, 'audio/start');
    return f;
  }

  /** Adds raw PCM; returns false once the stream is over the limit. */
  add(chunk: Buffer): boolean {
    this.lastActivity = Date.now();
    if (this.tooLong) return false;
    if (this.bytes + chunk.length > this.maxSeconds * bytesPerSecond(this.format)) {
      this.tooLong = true;
      this.chunks = [];
      this.bytes = 0;
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** All PCM received (whole frames only). */
  pcm(): Buffer {
    const all = Buffer.concat(this.chunks);
    const frame = this.format.width * this.format.channels;
    return all.subarray(0, all.length - (all.length % frame));
  }
}
