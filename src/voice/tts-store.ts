import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { HttpServer } from '../http/server.js';
import { HttpError, sendBytes } from '../http/respond.js';

/** Total TTS audio kept for fetching (bytes); the oldest goes first past this. */
const MAX_BYTES = 64 * 1024 * 1024;
/** 24 random bytes, base64url: unguessable. */
const TOKEN_RE = /^[A-Za-z0-9_-]{32}$/;

interface Entry {
  wav: Buffer;
  expiresAt: number;
}

/**
 * Spoken answers served to media players at `/media/tts/<token>.wav`: the token is random
 * (192 bits), each entry expires after `ttlS`, and the store is bounded in bytes. The route
 * is public (a media player cannot send our API token); the token is the credential.
 */
export class TtsStore {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ttlS: number,
    private readonly baseUrl: () => string,
  ) {}

  register(http: HttpServer): void {
    http.route(
      'GET',
      '/media/tts/:token',
      ({ res, params }) => {
        const token = (params['token'] ?? '').replace(/\.wav$/, '');
        const e = TOKEN_RE.test(token) ? this.get(token) : undefined;
        if (!e) throw new HttpError(404, 'unknown or expired TTS audio');
        const maxAge = Math.max(0, Math.floor((e.expiresAt - Date.now()) / 1000));
        sendBytes(res, 200, e.wav, 'audio/wav', { 'cache-control': `private, max-age=${maxAge}` });
      },
      { public: true },
    );
    this.timer = setInterval(() => this.sweep(), Math.min(60_000, this.ttlS * 1000));
    this.timer.unref();
  }

  /** Stores a WAV; returns its token and absolute URL. */
  put(wav: Buffer): { token: string; url: string } {
    this.sweep();
    const token = randomBytes(24).toString('base64url');
    this.entries.set(token, { wav, expiresAt: Date.now() + this.ttlS * 1000 });
    this.bytes += wav.length;
    for (const [t, e] of this.entries) {
      if (this.bytes <= MAX_BYTES || t === token) break;
      this.entries.delete(t);
      this.bytes -= e.wav.length;
    }
    return { token, url: `${this.baseUrl().replace(/\/+$/, '')}/media/tts/${token}.wav` };
  }

  get(token: string): Entry | undefined {
    const e = this.entries.get(token);
    if (e && e.expiresAt <= Date.now()) {
      this.entries.delete(token);
      this.bytes -= e.wav.length;
      return undefined;
    }
    return e;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [t, e] of this.entries) {
      if (e.expiresAt > now) continue;
      this.entries.delete(t);
      this.bytes -= e.wav.length;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.entries.clear();
    this.bytes = 0;
  }
}

/**
 * The base URL media players use: http.public_url when set; otherwise this host's HTTP port
 * on the configured address, or on the first LAN IPv4 address when listening on all of them.
 */
export function ttsBaseUrl(publicUrl: string, host: string, port: number): string {
  if (publicUrl) return publicUrl;
  let h = host;
  if (h === '0.0.0.0' || h === '::' || h === '') {
    const lan = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    h = lan?.address ?? '127.0.0.1';
  }
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
