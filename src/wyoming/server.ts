import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Audio } from '../backends/types.js';
import { CapacityError, InputError, errorMessage } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { bytesPerSecond, checkPcmFormat, decodePcm, encodePcm16, toSpeechAudio, type PcmFormat } from '../media/audio/index.js';
import { DEFAULT_LIMITS, WyomingDecoder, WyomingProtocolError, encodeEvent, type WyomingEvent } from './framing.js';

/** What the server needs from the models (the router in the app, anything in tests). */
export interface WyomingEngine {
  transcribe(audio: Audio): Promise<{ text: string; language?: string }>;
  synthesize(text: string): Promise<Audio>;
}

export interface WyomingServerOptions {
  kind: 'asr' | 'tts';
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The `info` event data answered to `describe`. */
  info: Record<string, unknown>;
  engine: WyomingEngine;
  /** Longest utterance accepted (s). */
  maxUtteranceS: number;
  /** Longest text to speak (characters). */
  maxTextChars: number;
  log: Logger;
  /** Every rejected input or failure (for sarai/error). */
  onError: (err: unknown) => void;
  maxConnections?: number;
}

/** Most PCM one connection holds for an utterance (bytes), whatever its format. */
const MAX_UTTERANCE_BYTES = 16 * 1024 * 1024;
/** Events received but not yet handled, per connection, before we stop reading the socket. */
const MAX_PENDING_EVENTS = 64;
/** Samples per audio-chunk event we send (about 64 ms at 16 kHz). */
const CHUNK_SAMPLES = 1024;

/**
 * SARAi as a Wyoming server (one per kind, on its own port, as Home Assistant expects):
 * `describe` -> `info`; ASR: `transcribe` + `audio-start`/`audio-chunk`/`audio-stop` ->
 * `transcript`; TTS: `synthesize` -> `audio-start`/`audio-chunk`/`audio-stop`. Bad input gets
 * an `error` event {text, code}; a framing violation also closes the connection.
 */
export class WyomingServer {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
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
    server.on('error', (err) => this.o.log.error({ module: `wyoming-${this.o.kind}`, err }, 'Wyoming server error'));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.o.log.info({ module: `wyoming-${this.o.kind}`, host: this.o.host, port: this.port }, 'Wyoming server listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(socket: net.Socket): void {
    if (this.sockets.size >= (this.o.maxConnections ?? 32)) {
      socket.end(encodeEvent('error', { text: 'too many Wyoming connections', code: 'busy' }));
      this.o.onError(new CapacityError('Wyoming connection refused: too many open connections'));
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const session = new Session(this.o, socket);
    const decoder = new WyomingDecoder(DEFAULT_LIMITS);
    let chain = Promise.resolve();
    // events wait their turn behind a running transcription: stop reading past a bound, so a
    // client that streams faster than we work cannot grow our memory
    let pending = 0;
    socket.on('data', (chunk: Buffer) => {
      let events: WyomingEvent[];
      try {
        events = decoder.push(chunk);
      } catch (err) {
        // framing is lost: say why, then hang up
        this.o.onError(err);
        socket.end(encodeEvent('error', { text: errorMessage(err), code: 'protocol' }));
        socket.removeAllListeners('data');
        return;
      }
      for (const e of events) {
        pending++;
        chain = chain.then(async () => {
          await session.handle(e);
          if (--pending < MAX_PENDING_EVENTS / 2 && socket.isPaused()) socket.resume();
        });
      }
      if (pending >= MAX_PENDING_EVENTS) socket.pause();
    });
    socket.on('error', (err) => this.o.log.debug({ module: `wyoming-${this.o.kind}`, err: err.message }, 'client connection error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      session.close();
    });
  }
}

/** One client connection's state: at most one utterance being received. */
class Session {
  private format?: PcmFormat;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private overflow = false;
  private language?: string;
  private closed = false;

  constructor(
    private readonly o: WyomingServerOptions,
    private readonly socket: net.Socket,
  ) {}

  close(): void {
    this.closed = true;
    this.chunks = [];
  }

  private send(type: string, data?: Record<string, unknown>, payload?: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(encodeEvent(type, data, payload));
  }

  private error(err: unknown, code: string): void {
    this.o.onError(err);
    this.send('error', { text: errorMessage(err), code });
  }

  async handle(e: WyomingEvent): Promise<void> {
    if (this.closed) return;
    try {
      switch (e.type) {
        case 'describe':
          return this.send('info', this.o.info);
        case 'ping':
          return this.send('pong', typeof e.data['text'] === 'string' ? { text: e.data['text'] } : {});
        case 'transcribe':
          if (this.o.kind !== 'asr') return this.error(new InputError('this is the TTS server; send transcribe to the ASR port'), 'unsupported');
          this.language = typeof e.data['language'] === 'string' ? e.data['language'] : undefined;
          return;
        case 'audio-start':
          return this.onStart(e);
        case 'audio-chunk':
          return this.onChunk(e);
        case 'audio-stop':
          return await this.onStop();
        case 'synthesize':
          return await this.onSynthesize(e);
        default:
          // unknown events are ignored, as the protocol allows (e.g. `detect`, `run-pipeline`)
          this.o.log.debug({ module: `wyoming-${this.o.kind}`, type: e.type }, 'ignoring event');
      }
    } catch (err) {
      this.error(err, err instanceof InputError ? 'bad-request' : 'failed');
    }
  }

  private onStart(e: WyomingEvent): void {
    if (this.o.kind !== 'asr') throw new InputError('this is the TTS server; send audio to the ASR port');
    const f = { rate: Number(e.data['rate']), width: Number(e.data['width']), channels: Number(e.data['channels']) };
    this.reset();
    checkPcmFormat(f, 'audio-start');
    this.format = f;
  }

  private onChunk(e: WyomingEvent): void {
    if (this.o.kind !== 'asr') throw new InputError('this is the TTS server; send audio to the ASR port');
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

  private async onStop(): Promise<void> {
    if (this.o.kind !== 'asr') throw new InputError('this is the TTS server; send audio to the ASR port');
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
    if (this.o.kind !== 'tts') throw new InputError('this is the ASR server; send synthesize to the TTS port');
    const text = e.data['text'];
    if (typeof text !== 'string' || text.trim().length === 0) throw new InputError('synthesize needs non-empty text');
    if (text.length > this.o.maxTextChars) throw new InputError(`text of ${text.length} characters exceeds the limit of ${this.o.maxTextChars}`);
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
