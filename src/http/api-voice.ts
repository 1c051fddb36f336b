import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { VoiceResponse } from '../core/results.js';
import { checkId } from '../mqtt/topics.js';
import { HttpError, sendJson } from './respond.js';

/** Voice exchanges kept in memory for the dashboard (the voice path does not persist them). */
const RING_SIZE = 500;
const MAX_LIMIT = 200;

export type VoiceEntry = VoiceResponse & { ts: string };

/** Parses an integer query parameter within [min, max]; anything else is a 400. */
export function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return def;
  if (!/^\d{1,9}$/.test(raw)) throw new HttpError(400, `${name} must be a whole number between ${min} and ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw new HttpError(400, `${name} must be between ${min} and ${max}`);
  return n;
}

/** GET /api/voice?satellite=&limit=: the latest voice responses, newest first. */
export class VoiceLog implements Service {
  readonly name = 'api-voice';
  private readonly ring: VoiceEntry[] = [];
  private unsubscribe?: () => void;

  constructor(private readonly ctx: AppContext) {}

  register(): void {
    this.ctx.http.route('GET', '/api/voice', ({ res, url }) => {
      const satellite = url.searchParams.get('satellite') || undefined;
      if (satellite !== undefined && !isId(satellite)) throw new HttpError(400, 'satellite must match [a-z0-9_]+');
      const limit = intParam(url, 'limit', 50, 1, MAX_LIMIT);
      const entries = (satellite ? this.ring.filter((e) => e.satellite === satellite) : this.ring).slice(0, limit);
      const satellites = [...new Set([...Object.keys(this.ctx.config.satellites), ...this.ring.map((e) => e.satellite)])].sort();
      sendJson(res, 200, { entries, satellites });
    });
  }

  async start(): Promise<void> {
    this.unsubscribe = this.ctx.bus.on('voice.response', this.name, (v) => this.add(v));
  }

  add(v: VoiceResponse): void {
    this.ring.unshift({ ...v, ts: new Date().toISOString() });
    if (this.ring.length > RING_SIZE) this.ring.length = RING_SIZE;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
  }
}

function isId(s: string): boolean {
  try {
    checkId('satellite', s);
    return true;
  } catch {
    return false;
  }
}
