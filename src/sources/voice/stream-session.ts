import { InputError } from '../../core/errors.js';
import { bytesPerSecond, checkPcmFormat, type PcmFormat } from '../../media/audio/index.js';

/** Most PCM one stream holds (bytes), whatever its format: 8.7 min of 16 kHz 16-bit mono. */
export const MAX_STREAM_BYTES = 16 * 1024 * 1024;

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
    /** Bytes all open streams may hold together; shared by the source's sessions. */
    private readonly budget: { used: number; max: number } = { used: 0, max: Infinity },
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
    const limit = Math.min(this.maxSeconds * bytesPerSecond(this.format), MAX_STREAM_BYTES);
    if (this.bytes + chunk.length > limit || this.budget.used + chunk.length > this.budget.max) {
      this.tooLong = true;
      this.release();
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.budget.used += chunk.length;
    return true;
  }

  /** Drops the held audio and gives its bytes back to the shared budget. */
  release(): void {
    this.budget.used -= this.bytes;
    this.chunks = [];
    this.bytes = 0;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** All PCM received (whole frames only); the stream's budget is released. */
  pcm(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.release();
    const frame = this.format.width * this.format.channels;
    return all.subarray(0, all.length - (all.length % frame));
  }
}
