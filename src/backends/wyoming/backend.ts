import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, DisposedError, InputError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { SPEECH_RATE_HZ, bytesPerSecond, checkPcmFormat, decodePcm, downmix, encodePcm16, type PcmFormat } from '../../media/audio/index.js';
import { WyomingConnection, parseTcpUrl } from '../../wyoming/connection.js';
import type { Audio, Backend, BackendHealth, Capability, SynthesizeResult, TranscribeResult } from '../types.js';

/** Samples per audio-chunk we send (64 ms at 16 kHz, like Home Assistant's satellites). */
const CHUNK_SAMPLES = 1024;
/** Longest synthesized audio accepted from a server (s): bounds memory. */
const MAX_TTS_SECONDS = 600;

export interface WyomingBackendOptions {
  role: string;
  spec: ModelConfig;
  log: Logger;
}

/**
 * A Wyoming ASR and/or TTS server (wyoming-faster-whisper, Piper...) used as a client, one
 * TCP connection per request as the protocol intends. `url` is `tcp://host:port`; the role
 * decides the direction (`stt` transcribes, `tts` synthesizes). start() sends `describe` and
 * checks the `info` answer names a program of that kind.
 */
export class WyomingBackend implements Backend {
  readonly kind = 'wyoming';
  readonly role: string;
  readonly model: string;
  readonly capabilities: ReadonlySet<Capability>;
  private state: BackendHealth = { state: 'idle' };
  private disposed = false;
  private readonly open = new Set<WyomingConnection>();

  constructor(private readonly opts: WyomingBackendOptions) {
    this.role = opts.role;
    // a bad url is a config error now, not at the first request
    try {
      parseTcpUrl(opts.spec.url);
    } catch (err) {
      throw new InputError(`${errorMessage(err)} (models.${opts.role}.url)`);
    }
    this.model = opts.spec.name || opts.spec.model || `wyoming ${opts.spec.url}`;
    this.capabilities = new Set<Capability>(this.isTts ? ['audio_out'] : ['audio_in']);
  }

  private get isTts(): boolean {
    return this.opts.role === 'tts' || this.opts.spec.task === 'text-to-speech';
  }
  private get timeoutMs(): number {
    return this.opts.spec.timeout_s * 1000;
  }

  health(): BackendHealth {
    return { ...this.state };
  }

  async start(): Promise<void> {
    this.assertLive();
    if (this.state.state === 'ready') return;
    this.state = { state: 'starting' };
    try {
      const info = await this.withConnection(async (c) => {
        c.send('describe');
        for (;;) {
          const e = await c.next(this.timeoutMs);
          if (e.type === 'info') return e.data;
        }
      });
      const programs = info[this.isTts ? 'tts' : 'asr'];
      if (!Array.isArray(programs) || programs.length === 0) {
        throw new BackendError(`the Wyoming server at ${this.opts.spec.url} offers no ${this.isTts ? 'tts' : 'asr'} program`);
      }
      this.state = { state: 'ready' };
    } catch (err) {
      this.state = { state: 'failed', lastError: errorMessage(err), retryAt: Date.now() + 60_000 };
      throw err instanceof BackendError ? err : new BackendError(`${this.role}: ${errorMessage(err)}`);
    }
  }

  async transcribe(audio: Audio): Promise<TranscribeResult> {
    this.assertLive();
    if (this.isTts) throw new BackendError(`${this.role}: this Wyoming backend is configured for TTS`);
    if (audio.samples.length === 0) throw new InputError(`${this.role}: audio is empty`);
    const started = Date.now();
    const fmt = { rate: audio.sampleRate, width: 2, channels: 1 };
    const text = await this.withConnection(async (c) => {
      c.send('transcribe', this.opts.spec.model ? { name: this.opts.spec.model } : {});
      c.send('audio-start', fmt);
      for (let off = 0; off < audio.samples.length; off += CHUNK_SAMPLES) {
        c.send('audio-chunk', fmt, encodePcm16(audio.samples.subarray(off, off + CHUNK_SAMPLES)));
      }
      c.send('audio-stop');
      for (;;) {
        const e = await c.next(this.timeoutMs);
        if (e.type === 'transcript') return typeof e.data['text'] === 'string' ? e.data['text'] : '';
        if (e.type === 'error') throw new BackendError(`${this.role}: Wyoming server error: ${String(e.data['text'] ?? 'unknown')}`);
      }
    });
    return { text: text.trim(), model: this.model, latencyMs: Date.now() - started };
  }

  async synthesize(text: string): Promise<SynthesizeResult> {
    this.assertLive();
    if (!this.isTts) throw new BackendError(`${this.role}: this Wyoming backend is configured for ASR`);
    if (!text.trim()) throw new InputError(`${this.role}: nothing to say (empty text)`);
    const started = Date.now();
    const audio = await this.withConnection(async (c) => {
      const voice = this.opts.spec.voice ? { voice: { name: this.opts.spec.voice } } : {};
      c.send('synthesize', { text, ...voice });
      let fmt: PcmFormat | undefined;
      const parts: Float32Array[] = [];
      let bytes = 0;
      for (;;) {
        const e = await c.next(this.timeoutMs);
        if (e.type === 'error') throw new BackendError(`${this.role}: Wyoming server error: ${String(e.data['text'] ?? 'unknown')}`);
        if (e.type === 'audio-start' || (e.type === 'audio-chunk' && !fmt)) {
          fmt = { rate: Number(e.data['rate']), width: Number(e.data['width']), channels: Number(e.data['channels']) };
          checkPcmFormat(fmt, 'Wyoming TTS audio');
        }
        if (e.type === 'audio-chunk' && fmt && e.payload) {
          bytes += e.payload.length;
          if (bytes > MAX_TTS_SECONDS * bytesPerSecond(fmt)) throw new BackendError(`${this.role}: Wyoming TTS sent more than ${MAX_TTS_SECONDS} s of audio`);
          parts.push(downmix(decodePcm(e.payload, fmt), fmt.channels));
        }
        if (e.type === 'audio-stop') {
          if (!fmt) throw new BackendError(`${this.role}: Wyoming TTS sent audio-stop without audio`);
          const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
          let off = 0;
          for (const p of parts) {
            samples.set(p, off);
            off += p.length;
          }
          return { sampleRate: fmt.rate, samples };
        }
      }
    });
    if (audio.samples.length === 0) throw new BackendError(`${this.role}: Wyoming TTS returned no audio`);
    return { audio, model: this.model, latencyMs: Date.now() - started };
  }

  private async withConnection<T>(fn: (c: WyomingConnection) => Promise<T>): Promise<T> {
    const c = await WyomingConnection.connect(this.opts.spec.url, Math.min(this.timeoutMs, 10_000));
    this.open.add(c);
    try {
      return await fn(c);
    } finally {
      this.open.delete(c);
      c.close();
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new DisposedError(`${this.role}: Wyoming backend is disposed`);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const c of this.open) c.close();
    this.open.clear();
    this.state = { state: 'idle' };
  }
}

/** The rate we send to Wyoming ASR servers (they expect 16 kHz 16-bit mono). */
export const WYOMING_ASR_RATE_HZ = SPEECH_RATE_HZ;
