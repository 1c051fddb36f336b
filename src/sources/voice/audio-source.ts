import type { Audio } from '../../backends/types.js';
import { CapacityError, InputError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { decodePcm, readWav, toSpeechAudio } from '../../media/audio/index.js';
import type { IncomingMessage, MqttBridge } from '../../mqtt/client.js';
import { INPUT_SUBSCRIBE, VOICE_FILTER, isVoiceAudio, levelsBelow } from '../../mqtt/input-topics.js';
import { checkId } from '../../mqtt/topics.js';
import { StreamSession } from './stream-session.js';

/** Streams open at once (any satellite id may stream): bounds memory to this x max_utterance_s. */
export const MAX_OPEN_STREAMS = 32;
/** PCM all open streams may hold together (bytes). */
export const MAX_STREAMS_BYTES = 64 * 1024 * 1024;

/** A complete utterance from one satellite, as 16 kHz mono. */
export interface Utterance {
  satellite: string;
  audio: Audio;
  /** Seconds of audio received (before conversion). */
  durationS: number;
  /** ms since epoch when the utterance was complete (WAV or stop message received, or timeout); parsing and resampling come after. */
  completedAt: number;
  via: 'wav' | 'stream' | 'timeout';
}

export interface VoiceSourceOptions {
  mqtt: MqttBridge;
  log: Logger;
  maxUtteranceS: number;
  /** A stream with no chunk for this long ends as if stopped (s). */
  streamTimeoutS: number;
  /** Take voice audio, WAVs and streams (default true). Cluster mode: only the cluster.voice_streams worker (not shared). */
  streams?: boolean;
  onUtterance: (u: Utterance) => void;
  /** Bad input: reported on sarai/error by the caller. */
  onError: (topic: string, err: unknown) => void;
}

/**
 * Satellite audio over MQTT: `<base>/voice/<satellite>/audio` carries one complete WAV; or a
 * stream `.../audio/start` (JSON {rate, width, channels}), `.../audio/chunk` (raw PCM),
 * `.../audio/stop`. One session per satellite: a new start replaces an unfinished one.
 */
export class VoiceAudioSource {
  readonly name = 'voice-source';
  private readonly sessions = new Map<string, StreamSession>();
  /** Bytes all open streams hold together. */
  private readonly budget = { used: 0, max: MAX_STREAMS_BYTES };
  private unsubscribes: (() => void)[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: VoiceSourceOptions) {}

  start(): void {
    // the catch-all every voice input shares; other shapes are InputTopicGuard's to report.
    // Never shared in cluster mode: a stream's chunks must reach the worker that saw its start,
    // and one broker subscription serves WAVs and streams alike, so voice is pinned to the
    // worker with cluster.voice_streams (the others ignore it, see onMessage).
    this.unsubscribes.push(this.o.mqtt.subscribe(this.o.mqtt.topic(VOICE_FILTER), this.name, (m) => this.onMessage(m), 1, false, INPUT_SUBSCRIBE));
    // idle streams are checked a few times per timeout period
    const everyMs = Math.max(50, Math.min(1000, (this.o.streamTimeoutS * 1000) / 4));
    this.timer = setInterval(() => this.expireIdle(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    for (const u of this.unsubscribes) u();
    this.unsubscribes = [];
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.sessions.values()) s.release();
    this.sessions.clear();
  }

  /** Satellites with a stream open now. */
  get openStreams(): number {
    return this.sessions.size;
  }

  private onMessage(m: IncomingMessage): void {
    // cluster mode: voice is the voice_streams worker's alone (the catch-all is not shared)
    if (!(this.o.streams ?? true)) return;
    if (!isVoiceAudio(levelsBelow(this.o.mqtt.baseTopic, m.topic))) return;
    if (m.retain) return; // a retained utterance is an old one
    const receivedAt = Date.now();
    try {
      const rel = m.topic.slice(this.o.mqtt.baseTopic.length + 1).split('/');
      const satellite = checkId('satellite', rel[1]);
      const part = rel[3];
      if (part === undefined) return this.onWav(satellite, m.payload, receivedAt);
      if (part === 'start') return this.onStart(satellite, m.payload);
      if (part === 'chunk') return this.onChunk(satellite, m.payload);
      if (part === 'stop') return this.finish(satellite, 'stream', receivedAt);
      throw new InputError(`unknown voice topic part "${part.slice(0, 20)}": use audio, audio/start, audio/chunk or audio/stop`);
    } catch (err) {
      this.o.onError(m.topic, err);
    }
  }

  private onWav(satellite: string, payload: Buffer, receivedAt: number): void {
    const wav = readWav(payload, { maxSeconds: this.o.maxUtteranceS });
    const { rate, channels } = wav.format;
    this.emit({ satellite, audio: toSpeechAudio(wav.samples, rate, channels), durationS: wav.durationS, completedAt: receivedAt, via: 'wav' });
  }

  private onStart(satellite: string, payload: Buffer): void {
    const format = StreamSession.parseStart(payload);
    const previous = this.sessions.get(satellite);
    if (!previous && this.sessions.size >= MAX_OPEN_STREAMS) {
      throw new CapacityError(`satellite ${satellite}: ${MAX_OPEN_STREAMS} audio streams are already open; stream refused`);
    }
    previous?.release();
    this.sessions.set(satellite, new StreamSession(format, this.o.maxUtteranceS, this.budget));
    if (previous) throw new InputError(`satellite ${satellite}: new audio/start before audio/stop; the previous stream was discarded`);
  }

  private onChunk(satellite: string, payload: Buffer): void {
    const s = this.sessions.get(satellite);
    if (!s) throw new InputError(`satellite ${satellite}: audio/chunk without audio/start; send start first`);
    if (payload.length === 0) throw new InputError(`satellite ${satellite}: empty audio/chunk ignored`);
    const wasTooLong = s.tooLong;
    if (!s.add(payload) && !wasTooLong) {
      throw new InputError(
        `satellite ${satellite}: utterance longer than ${this.o.maxUtteranceS} s (voice.max_utterance_s) or than the stream memory bound; the stream is discarded`,
      );
    }
  }

  private finish(satellite: string, via: 'stream' | 'timeout', completedAt = Date.now()): void {
    const s = this.sessions.get(satellite);
    this.sessions.delete(satellite);
    if (!s) throw new InputError(`satellite ${satellite}: audio/stop without audio/start`);
    if (s.tooLong) return; // already reported when it went over
    const pcm = s.pcm();
    if (pcm.length === 0) throw new InputError(`satellite ${satellite}: the stream ended with no audio`);
    const f = s.format;
    const samples = decodePcm(pcm, f);
    const durationS = samples.length / f.channels / f.rate;
    this.emit({ satellite, audio: toSpeechAudio(samples, f.rate, f.channels), durationS, completedAt, via });
  }

  private expireIdle(): void {
    const cutoff = Date.now() - this.o.streamTimeoutS * 1000;
    for (const [satellite, s] of [...this.sessions]) {
      if (s.lastActivity > cutoff) continue;
      this.o.log.info({ module: this.name, satellite }, `no audio/stop within ${this.o.streamTimeoutS} s; ending the stream`);
      try {
        this.finish(satellite, 'timeout');
      } catch (err) {
        this.o.onError(this.o.mqtt.topic(`voice/${satellite}/audio/stop`), err);
      }
    }
  }

  private emit(u: Utterance): void {
    try {
      this.o.onUtterance(u);
    } catch (err) {
      this.o.log.error({ module: this.name, err: errorMessage(err) }, 'utterance handler failed');
    }
  }
}
