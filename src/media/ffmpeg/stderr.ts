import { redactUrl } from '../../log/logger.js';

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi;

/**
 * Removes credentials from ffmpeg's messages: every URL goes through redactUrl, and any
 * known secret (a camera's user/password, raw or percent-encoded) is masked wherever it
 * appears, since ffmpeg echoes the input URL in most of its errors.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_IN_TEXT, (u) => redactUrl(u));
  for (const s of secrets) {
    if (s.length >= 2) out = out.split(s).join('***');
  }
  return out;
}

/** The secrets inside a URL (user, password; decoded and as written) for redactText. */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const raw = [u.username, u.password].filter((s) => s.length > 0);
    return [...new Set([...raw, ...raw.map((s) => safeDecode(s))])];
  } catch {
    return [];
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Keeps the last `maxBytes` of a stream, for error messages (ffmpeg says why at the end). */
export class StderrTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly maxBytes = 4096) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.maxBytes && this.chunks.length > 1) {
      const first = this.chunks.shift();
      this.size -= first?.length ?? 0;
    }
  }

  /** The tail as trimmed text; lines cut to the last `maxLines`. */
  text(maxLines = 6): string {
    const all = Buffer.concat(this.chunks).toString('utf8');
    const tail = all.length > this.maxBytes ? all.slice(-this.maxBytes) : all;
    return tail
      .split(/\r?\n/)
      // "[rtsp @ 0x55d1...] " names ffmpeg's internal context: noise in a user's error
      .map((l) => l.replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/i, '').trim())
      .filter((l) => l.length > 0)
      .slice(-maxLines)
      .join('; ');
  }
}
