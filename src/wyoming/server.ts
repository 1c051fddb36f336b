import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Audio } from '../backends/types.js';
import { CapacityError, InputError, TimeoutError, errorMessage } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { bytesPerSecond, checkPcmFormat, decodePcm, encodePcm16, toSpeechAudio, type PcmFormat } from '../media/audio/index.js';
import { SentenceSplitter } from '../voice/sentences.js';
import { DEFAULT_LIMITS, WyomingDecoder, WyomingProtocolError, encodeEvent, type WyomingEvent } from './framing.js';

/** What the server needs from the models (the router in the app, anything in tests). */
export interface WyomingEngine {
  transcribe(audio: Audio): Promise<{ text: string; language?: string }>;
  synthesize(text: string): Promise<Audio>;
  /** The conversation agent (`handle` server): a question -> the answer to speak. Throws on failure. */
  handle?(text: string, language: string | undefined): Promise<string>;
}

export type WyomingKind = 'asr' | 'tts' | 'handle';

export interface WyomingServerOptions {
  kind: WyomingKind;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The `info` event data answered to `describe`. */
  info: Record<string, unknown>;
  engine: WyomingEngine;
  /** Longest utterance accepted (s). */
  maxUtteranceS: number;
  /** Longest text (characters): to speak, for `synthesize` and a whole synthesis stream; for `handle`, a transcript. */
  maxTextChars: number;
  /** `handle`: languages answered (others get `not-handled`); empty or absent: any. */
  languages?: string[];
  log: Logger;
  /** Every rejected input or failure (for sarai/error). */
  onError: (err: unknown) => void;
  maxConnections?: number;
  /** A connection that sends no event for this long, while nothing is being worked on for it, is closed (ms). */
  idleTimeoutMs?: number;
  /** An event must arrive whole within this long of its first byte (ms). */
  eventTimeoutMs?: number;
}

/** Most PCM one connection holds for an utterance (bytes), whatever its format. */
const MAX_UTTERANCE_BYTES = 16 * 1024 * 1024;
/** Events received but not yet handled, per connection, before we stop reading the socket. */
const MAX_PENDING_EVENTS = 64;
/** Samples per audio-chunk event we send (about 64 ms at 16 kHz). */
const CHUNK_SAMPLES = 1024;
/** How long a socket we hang up on may take to close by itself before it is destroyed (ms). */
const LINGER_MS = 2_000;

/**
 * SARAi as a Wyoming server (one per kind, on its own port, as Home Assistant expects):
 * `describe` -> `info`; ASR: `transcribe` + `audio-start`/`audio-chunk`/`audio-stop` ->
 * `transcript`; TTS: `synthesize` -> `audio-start`/`audio-chunk`/`audio-stop`, or a stream
 * `synthesize-start`/`synthesize-chunk`.../`synthesize-stop` -> audio per sentence, then
 * `synthesize-stopped`; handle (conversation agent): `transcript` -> `handled`. Bad input gets
 * an `error` event {text, code} (on the handle server a `not-handled`, the failure that every
 * Home Assistant with Wyoming handle support reads); a framing violation, an idle connection or an event
 * that never completes is closed after one.
 *
 * Connections are bounded; when all slots are taken, the one idle longest is closed to admit
 * the newcomer, so idle or stalled clients cannot lock Home Assistant out.
 */
export class WyomingServer {
  private server?: net.Server;
  private readonly conns = new Set<Connection>();
  port = 0;

  constructor(private readonly o: WyomingServerOptions) {}

  async start(): Promise<void> {
    const server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.o.log.error({ module: this.module, err }, 'Wyoming server error'));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.o.log.info({ module: this.module, host: this.o.host, port: this.port }, 'Wyoming server listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Open connections (for tests and metrics). */
  get connections(): number {
    return this.conns.size;
  }

  private get module(): string {
    return `wyoming-${this.o.kind}`;
  }

  private accept(socket: net.Socket): void {
    // before anything else: a peer may reset any socket, even one we are about to refuse, and
    // an 'error' event without a listener ends the process
    socket.on('error', (err) => this.o.log.debug({ module: this.module, err: err.message }, 'client connection error'));
    if (this.conns.size >= (this.o.maxConnections ?? 32) && !this.evictIdlest()) {
      hangUp(socket, 'too many Wyoming connections', 'busy');
      this.o.onError(new CapacityError('Wyoming connection refused: too many open connections, none idle'));
      return;
    }
    const conn = new Connection(this.o, socket);
    this.conns.add(conn);
    socket.on('close', () => {
      this.conns.delete(conn);
      conn.close();
    });
  }

  /** Closes the connection idle longest (nothing being worked on for it); false if there is none. */
  private evictIdlest(): boolean {
    let oldest: Connection | undefined;
    for (const c of this.conns) if (c.idle && (!oldest || c.lastActivity < oldest.lastActivity)) oldest = c;
    if (!oldest) return false;
    this.conns.delete(oldest);
    const idleS = ((Date.now() - oldest.lastActivity) / 1000).toFixed(1);
    this.o.log.info({ module: this.module, idleS }, 'closing the idlest Wyoming connection to admit a new one');
    oldest.hangUp(`closed to admit a new connection: all slots taken and this one idle for ${idleS} s`, 'evicted');
    return true;
  }
}

const KIND_NAMES: Record<WyomingKind, string> = { asr: 'ASR', tts: 'TTS', handle: 'conversation (handle)' };

/** The context HA sent ({conversation_id, ...}), echoed back as Wyoming's "context for next interaction". */
function contextField(context: unknown): { context?: Record<string, unknown> } {
  return context && typeof context === 'object' && !Array.isArray(context) ? { context: context as Record<string, unknown> } : {};
}

/** `en-GB` is served by `en` and `en` by `en_US`: same primary subtag, case and separator aside. */
export function languageServed(language: string, served: string[]): boolean {
  if (served.length === 0) return true;
  const primary = (l: string): string => l.toLowerCase().split(/[-_]/)[0] ?? '';
  return served.some((s) => primary(s) === primary(language));
}

/** Sends one last `error` event and closes; a peer that never reads or closes is cut off after LINGER_MS. */
function hangUp(socket: net.Socket, text: string, code: string): void {
  if (socket.destroyed) return;
  socket.end(encodeEvent('error', { text, code }));
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** One client's socket: framing, ordering of events, backpressure and the read timeouts. */
class Connection {
  private readonly session: Session;
  private readonly decoder = new WyomingDecoder(DEFAULT_LIMITS);
  private chain = Promise.resolve();
  /** Events received and not yet handled. */
  private pending = 0;
  private timer?: NodeJS.Timeout;
  /** When the event now arriving began (ms since epoch). */
  private eventStarted = 0;
  private closed = false;
  /** Last complete event received or handled (ms since epoch). */
  lastActivity = Date.now();

  constructor(
    private readonly o: WyomingServerOptions,
    private readonly socket: net.Socket,
  ) {
    socket.setNoDelay(true);
    this.session = new Session(o, socket);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.rearm();
  }

  /** Nothing is being worked on for this client: it may be closed for a newcomer. */
  get idle(): boolean {
    return this.pending === 0 && !this.closed;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.session.close();
  }

  destroy(): void {
    this.close();
    this.socket.destroy();
  }

  hangUp(text: string, code: string): void {
    this.close();
    this.socket.removeAllListeners('data');
    hangUp(this.socket, text, code);
  }

  private onData(chunk: Buffer): void {
    const wasMidEvent = this.decoder.midEvent;
    let events: WyomingEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch (err) {
      // framing is lost: say why, then hang up
      this.o.onError(err);
      this.hangUp(errorMessage(err), 'protocol');
      return;
    }
    const now = Date.now();
    if (!wasMidEvent || events.length > 0) this.eventStarted = now;
    if (events.length > 0) this.lastActivity = now;
    for (const e of events) {
      this.pending++;
      this.chain = this.chain.then(async () => {
        await this.session.handle(e);
        this.pending--;
        this.lastActivity = Date.now();
        // events wait their turn behind a running transcription: reading stops past a bound
        // (below), so a client that streams faster than we work cannot grow our memory
        if (this.pending < MAX_PENDING_EVENTS / 2 && this.socket.isPaused()) this.socket.resume();
        this.rearm();
      });
    }
    if (this.pending >= MAX_PENDING_EVENTS) this.socket.pause();
    this.rearm();
  }

  /** While we work for the client, no clock runs; otherwise an event in flight or the idle clock does. */
  private rearm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.pending > 0) return;
    const now = Date.now();
    if (this.decoder.midEvent) {
      const ms = this.o.eventTimeoutMs ?? 10_000;
      this.timer = setTimeout(() => this.timeOut(`event not completed within ${ms / 1000} s of its first byte`), this.eventStarted + ms - now);
    } else {
      const ms = this.o.idleTimeoutMs ?? 30_000;
      this.timer = setTimeout(() => this.timeOut(`no event for ${ms / 1000} s`), this.lastActivity + ms - now);
    }
    this.timer.unref();
  }

  private timeOut(why: string): void {
    const err = new TimeoutError(`Wyoming connection closed: ${why}`);
    this.o.log.info({ module: `wyoming-${this.o.kind}`, err: err.message }, 'closing a Wyoming connection');
    this.hangUp(err.message, 'timeout');
  }
}

type Handler = (e: WyomingEvent) => void | Promise<void>;

/** One client connection's state: at most one utterance or one synthesis stream at a time. */
class Session {
  private format?: PcmFormat;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private overflow = false;
  private language?: string;
  /** An open `synthesize-start` stream; `dropped` once its text went over the limit. */
  private stream?: { splitter: SentenceSplitter; dropped: boolean };
  private closed = false;

  /**
   * The one place where event types map to handlers, with the server kind that serves them
   * (none: every kind). A new program (e.g. `handle`) adds its rows here.
   */
  private readonly handlers: Record<string, { kind?: WyomingKind; run: Handler }> = {
    describe: { run: () => this.send('info', this.o.info) },
    ping: { run: (e) => this.send('pong', typeof e.data['text'] === 'string' ? { text: e.data['text'] } : {}) },
    transcribe: { kind: 'asr', run: (e) => void (this.language = typeof e.data['language'] === 'string' ? e.data['language'] : undefined) },
    'audio-start': { kind: 'asr', run: (e) => this.onAudioStart(e) },
    'audio-chunk': { kind: 'asr', run: (e) => this.onAudioChunk(e) },
    'audio-stop': { kind: 'asr', run: () => this.onAudioStop() },
    synthesize: { kind: 'tts', run: (e) => this.onSynthesize(e) },
    'synthesize-start': { kind: 'tts', run: () => this.onSynthesizeStart() },
    'synthesize-chunk': { kind: 'tts', run: (e) => this.onSynthesizeChunk(e) },
    'synthesize-stop': { kind: 'tts', run: () => this.onSynthesizeStop() },
    transcript: { kind: 'handle', run: (e) => this.onTranscript(e) },
  };

  constructor(
    private readonly o: WyomingServerOptions,
    private readonly socket: net.Socket,
  ) {}

  close(): void {
    this.closed = true;
    this.chunks = [];
    this.stream = undefined;
  }

  private send(type: string, data?: Record<string, unknown>, payload?: Buffer): void {
    if (!this.closed && !this.socket.destroyed && this.socket.writable) this.socket.write(encodeEvent(type, data, payload));
  }

  private error(err: unknown, code: string, context?: unknown): void {
    this.o.onError(err);
    // not-handled: every HA with Wyoming handle support reads it and says our text as the
    // failure (current HA reads `error` too, as an "unknown" error without the reason's kind)
    if (this.o.kind === 'handle') this.send('not-handled', { text: errorMessage(err), ...contextField(context) });
    else this.send('error', { text: errorMessage(err), code });
  }

  async handle(e: WyomingEvent): Promise<void> {
    if (this.closed) return;
    const h = Object.hasOwn(this.handlers, e.type) ? this.handlers[e.type] : undefined;
    if (!h) {
      // unknown events are ignored, as the protocol allows (e.g. `detect`, `run-pipeline`)
      this.o.log.debug({ module: `wyoming-${this.o.kind}`, type: e.type }, 'ignoring event');
      return;
    }
    if (h.kind && h.kind !== this.o.kind) {
      return this.error(new InputError(`this is the ${KIND_NAMES[this.o.kind]} server; send ${e.type} to the ${KIND_NAMES[h.kind]} port`), 'unsupported');
    }
    try {
      await h.run(e);
    } catch (err) {
      this.error(err, err instanceof InputError ? 'bad-request' : 'failed', e.data['context']);
    }
  }

  /** Conversation agent: HA sends `transcript` {text, language, context} and reads until `handled` or `not-handled`. */
  private async onTranscript(e: WyomingEvent): Promise<void> {
    if (!this.o.engine.handle) throw new InputError('this server has no conversation agent');
    const text = e.data['text'];
    if (typeof text !== 'string' || text.trim().length === 0) throw new InputError('transcript needs non-empty text');
    if (text.length > this.o.maxTextChars) throw new InputError(`transcript of ${text.length} characters is longer than ${this.o.maxTextChars}`);
    const language = e.data['language'];
    if (language !== undefined && typeof language !== 'string') throw new InputError('transcript language must be a string');
    if (language && !languageServed(language, this.o.languages ?? [])) {
      throw new InputError(`language ${JSON.stringify(language.slice(0, 20))} is not configured (wyoming.languages: ${(this.o.languages ?? []).join(', ')})`);
    }
    const answer = await this.o.engine.handle(text.trim(), language || undefined);
    this.send('handled', { text: answer, ...contextField(e.data['context']) });
  }

  private onAudioStart(e: WyomingEvent): void {
    const f = { rate: Number(e.data['rate']), width: Number(e.data['width']), channels: Number(e.data['channels']) };
    this.reset();
    checkPcmFormat(f, 'audio-start');
    this.format = f;
  }

  private onAudioChunk(e: WyomingEvent): void {
    if (!this.format) throw new InputError('audio-chunk without audio-start');
    if (this.overflow) return;
    const payload = e.payload ?? Buffer.alloc(0);
    const max = Math.min(this.o.maxUtteranceS * bytesPerSecond(this.format), MAX_UTTERANCE_BYTES);
    if (this.bytes + payload.length > max) {
      // drop what we hold now and the rest of this utterance; one error, at audio-stop
      this.overflow = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(payload);
    this.bytes += payload.length;
  }

  private async onAudioStop(): Promise<void> {
    const f = this.format;
    const overflow = this.overflow;
    const pcm = Buffer.concat(this.chunks);
    this.reset();
    if (!f) throw new InputError('audio-stop without audio-start');
    if (overflow) throw new InputError(`utterance longer than ${this.o.maxUtteranceS} s (voice.max_utterance_s); discarded`);
    if (pcm.length < f.width * f.channels) throw new InputError('audio-stop with no audio');
    const audio = toSpeechAudio(decodePcm(pcm, f), f.rate, f.channels);
    const result = await this.o.engine.transcribe(audio);
    this.send('transcript', { text: result.text, ...(result.language ?? this.language ? { language: result.language ?? this.language } : {}) });
  }

  private async onSynthesize(e: WyomingEvent): Promise<void> {
    // a streaming client also sends the whole text as `synthesize`, for servers that do not
    // stream (Wyoming 1.7); we already speak it from the chunks
    if (this.stream) return;
    const text = e.data['text'];
    if (typeof text !== 'string' || text.trim().length === 0) throw new InputError('synthesize needs non-empty text');
    if (text.length > this.o.maxTextChars) throw new InputError(`text of ${text.length} characters exceeds the limit of ${this.o.maxTextChars}`);
    await this.speak(text);
  }

  private onSynthesizeStart(): void {
    if (this.stream) this.error(new InputError('synthesize-start while a synthesis stream is open; the open one is dropped'), 'bad-request');
    this.stream = { splitter: new SentenceSplitter(), dropped: false };
  }

  private async onSynthesizeChunk(e: WyomingEvent): Promise<void> {
    const stream = this.stream;
    if (!stream) throw new InputError('synthesize-chunk without synthesize-start (or after synthesize-stop)');
    const text = e.data['text'];
    if (typeof text !== 'string') throw new InputError('synthesize-chunk needs text');
    if (stream.dropped) return;
    if (stream.splitter.received + text.length > this.o.maxTextChars) {
      // one error; the rest of this stream is ignored and synthesize-stop still ends it
      stream.dropped = true;
      throw new InputError(`streamed text exceeds the limit of ${this.o.maxTextChars} characters; the rest of this synthesis is dropped`);
    }
    for (const sentence of stream.splitter.push(text)) await this.speak(sentence);
  }

  private async onSynthesizeStop(): Promise<void> {
    const stream = this.stream;
    if (!stream) throw new InputError('synthesize-stop without synthesize-start');
    this.stream = undefined;
    try {
      const rest = stream.splitter.flush();
      if (rest && !stream.dropped) await this.speak(rest);
    } finally {
      this.send('synthesize-stopped');
    }
  }

  /** One text -> audio-start, audio-chunk..., audio-stop. */
  private async speak(text: string): Promise<void> {
    const audio = await this.o.engine.synthesize(text);
    const fmt = { rate: audio.sampleRate, width: 2, channels: 1 };
    this.send('audio-start', fmt);
    for (let off = 0; off < audio.samples.length; off += CHUNK_SAMPLES) {
      this.send('audio-chunk', fmt, encodePcm16(audio.samples.subarray(off, off + CHUNK_SAMPLES)));
    }
    this.send('audio-stop');
  }

  private reset(): void {
    this.format = undefined;
    this.chunks = [];
    this.bytes = 0;
    this.overflow = false;
  }
}

export { WyomingProtocolError };
