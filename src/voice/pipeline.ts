import { randomUUID } from 'node:crypto';
import { Histogram, type Registry } from 'prom-client';
import type { Audio } from '../backends/types.js';
import type { BridgeEvents } from '../core/context.js';
import type { Bus } from '../core/bus.js';
import { InputError, errorMessage } from '../core/errors.js';
import type { ErrorReporter } from '../core/error-reporter.js';
import type { VoiceResponse } from '../core/results.js';
import type { Logger } from '../log/logger.js';
import { writeWav16, type SileroTrimmer } from '../media/audio/index.js';
import type { MqttBridge } from '../mqtt/client.js';
import type { ModelRouter } from '../router/types.js';
import { SpokenAnswer, capAnswer } from './spoken-answer.js';
import { checkSpeakable } from './text.js';
import type { TtsStore } from './tts-store.js';

/** The router methods the voice path uses. */
export type VoiceRouter = Pick<ModelRouter, 'transcribe' | 'answer' | 'synthesize'>;

/** Plays a TTS URL on a satellite's media player (the HA websocket's media_player.play_media). */
export type PlayMedia = (entityId: string, url: string) => Promise<void>;

export interface VoicePipelineOptions {
  router: VoiceRouter;
  mqtt: MqttBridge;
  errors: ErrorReporter;
  bus: Bus<BridgeEvents>;
  store: TtsStore;
  log: Logger;
  registry: Registry;
  /** Trims silence first when set (voice.vad). */
  vad?: SileroTrimmer;
  /** Satellite id -> media_player entity (configured satellites only). */
  mediaPlayers: (satellite: string) => string | undefined;
  playMedia?: PlayMedia;
  /** Caps on a spoken answer (voice.max_answer_tokens, voice.max_answer_chars). */
  limits?: { maxTokens: number; maxChars: number };
  /** Speak sentence by sentence while the model writes (default); false: the whole answer at once. */
  bySentence?: boolean;
  /** A role's own max_tokens (an answer that used them all was cut too). */
  roleMaxTokens?: (role: string) => number | undefined;
}

const DEFAULT_LIMITS = { maxTokens: 200, maxChars: 600 };

/** Where the time of one exchange went (ms). */
export interface VoiceTimings {
  totalMs: number;
  sttMs: number;
  answerMs: number;
  ttsMs: number;
  /** Total minus model time: what the bridge itself costs. */
  overheadMs: number;
  /** Utterance complete -> first sentence's audio published (answers only). */
  firstAudioMs?: number;
}

export interface VoiceOutcome {
  response: VoiceResponse;
  wav?: Buffer;
  timings: VoiceTimings;
}

/**
 * One voice exchange: speech -> text (`stt`), text -> answer (the router's text path),
 * answer -> speech (`tts`). Publishes `<base>/voice/<satellite>/transcript` (text),
 * `.../tts` (WAV bytes: for an answer, one WAV per sentence as soon as it is spoken, while
 * the model still writes the next) and `.../response` (VoiceResponse JSON, with the URL of
 * the whole answer's audio), emits `voice.response` on the bus, and plays the audio on the
 * satellite's media player when it has one. Answers are capped (voice.max_answer_tokens,
 * voice.max_answer_chars) at a sentence end; `truncated_by` says so.
 */
export class VoicePipeline {
  private readonly roundtrip: Histogram;
  private readonly overhead: Histogram;

  constructor(private readonly o: VoicePipelineOptions) {
    const registers = [o.registry];
    this.roundtrip = new Histogram({
      name: 'sarai_voice_roundtrip_seconds',
      help: 'Utterance complete -> TTS published',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers,
    });
    this.overhead = new Histogram({
      name: 'sarai_voice_overhead_seconds',
      help: 'Voice round trip minus model time (the bridge itself)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
  }

  /** Runs a whole exchange for one utterance; never throws (failures are reported). */
  async handle(satellite: string, audio: Audio, completedAt = Date.now(), signal?: AbortSignal): Promise<VoiceOutcome> {
    const id = randomUUID();
    const base = `voice/${satellite}`;
    const t: VoiceTimings = { totalMs: 0, sttMs: 0, answerMs: 0, ttsMs: 0, overheadMs: 0 };
    let transcript = '';
    let route = '';
    let model = '';
    let text = '';
    try {
      let input = audio;
      if (this.o.vad) {
        const trimmed = await this.o.vad.trim(audio);
        if (!trimmed.speech) throw new InputError('no speech detected in the utterance (VAD)');
        input = trimmed.audio;
      }
      const heard = await this.o.router.transcribe(input, signal);
      t.sttMs = heard.latencyMs;
      transcript = heard.value.text.trim();
      // QoS 1 (like camera results): queued across a broker restart; the spoken WAVs stay QoS 0,
      // audio replayed late after a reconnect would answer a question nobody is waiting on
      this.o.mqtt.publish(this.o.mqtt.topic(`${base}/transcript`), transcript, { qos: 1 });
      if (!transcript) throw new InputError('no speech recognized in the utterance');
      const limits = this.o.limits ?? DEFAULT_LIMITS;
      const speaker = new SpokenAnswer({
        maxChars: limits.maxChars,
        speak: async (sentence) => {
          const r = await this.o.router.synthesize(sentence, signal);
          t.ttsMs += r.latencyMs;
          return r.value.audio;
        },
        onAudio: async (a) => {
          t.firstAudioMs ??= Date.now() - completedAt;
          await this.o.mqtt.publishAsync(this.o.mqtt.topic(`${base}/tts`), writeWav16(a));
        },
      });
      const bySentence = this.o.bySentence ?? true;
      const answer = await this.o.router.answer(transcript, { signal, maxTokens: limits.maxTokens, ...(bySentence ? { onToken: (piece: string) => speaker.push(piece) } : {}) });
      t.answerMs = answer.latencyMs;
      route = answer.route;
      model = answer.model;
      text = answer.value.text.trim();
      const tokenCap = Math.min(limits.maxTokens, this.o.roleMaxTokens?.(answer.route) ?? limits.maxTokens);
      const hitTokenCap = answer.value.tokens >= tokenCap;
      if (!bySentence) {
        // the whole (capped) answer in one synthesis and one WAV
        const capped = capAnswer(text, limits.maxChars, hitTokenCap);
        const truncated = capped.truncatedBy ? { truncated_by: capped.truncatedBy } : {};
        const out = await this.speakAndPublish({ id, satellite, transcript, text: capped.text, route, model, ...truncated }, completedAt, t, signal);
        t.firstAudioMs = t.totalMs;
        return out;
      }
      const spoken = await speaker.finish(text, hitTokenCap);
      const truncated = speaker.truncatedBy ? { truncated_by: speaker.truncatedBy } : {};
      if (speaker.truncatedBy) this.o.log.info({ module: 'voice', satellite, by: speaker.truncatedBy, chars: text.length }, 'spoken answer cut at a sentence end');
      return await this.publishSpoken({ id, satellite, transcript, text: spoken.text, route, model, ...truncated }, spoken.audio, false, completedAt, t);
    } catch (err) {
      return this.failed({ id, satellite, transcript, text, route, model }, `${base}/audio`, err, completedAt, t);
    }
  }

  /** Speaks a text on a satellite without asking a model (`.../say`). Never throws. */
  async say(satellite: string, rawText: string, signal?: AbortSignal): Promise<VoiceOutcome> {
    const started = Date.now();
    const id = randomUUID();
    const t: VoiceTimings = { totalMs: 0, sttMs: 0, answerMs: 0, ttsMs: 0, overheadMs: 0 };
    try {
      const text = checkSpeakable(rawText);
      return await this.speakAndPublish({ id, satellite, transcript: '', text, route: 'say', model: '' }, started, t, signal);
    } catch (err) {
      return this.failed({ id, satellite, transcript: '', text: '', route: 'say', model: '' }, `voice/${satellite}/say`, err, started, t);
    }
  }

  /**
   * An exchange that failed: reported on <base>/error (against the topic it came in on),
   * answered on the satellite's response topic with `error` set, and put on the bus so the
   * voice log and the live stream show it like any other exchange.
   */
  private async failed(
    r: Omit<VoiceResponse, 'latency_ms' | 'tts_url' | 'error'>,
    inputTopic: string,
    err: unknown,
    startedAt: number,
    t: VoiceTimings,
  ): Promise<VoiceOutcome> {
    const response: VoiceResponse = { ...r, latency_ms: Date.now() - startedAt, tts_url: '', error: errorMessage(err) };
    this.o.errors.report('voice', this.o.mqtt.topic(inputTopic), err);
    this.o.mqtt.publish(this.o.mqtt.topic(`voice/${r.satellite}/response`), JSON.stringify(response), { qos: 1 });
    await this.o.bus.emit('voice.response', response);
    t.totalMs = response.latency_ms;
    return { response, timings: t };
  }

  private async speakAndPublish(
    r: Omit<VoiceResponse, 'latency_ms' | 'tts_url'>,
    completedAt: number,
    t: VoiceTimings,
    signal?: AbortSignal,
  ): Promise<VoiceOutcome> {
    const spoken = await this.o.router.synthesize(checkSpeakable(r.text, 'answer text'), signal);
    t.ttsMs = spoken.latencyMs;
    return this.publishSpoken(r, spoken.value.audio, true, completedAt, t);
  }

  /** Stores the whole audio for its URL, publishes it on `.../tts` unless that was done per sentence, then the response. */
  private async publishSpoken(
    r: Omit<VoiceResponse, 'latency_ms' | 'tts_url'>,
    audio: Audio,
    publishTts: boolean,
    completedAt: number,
    t: VoiceTimings,
  ): Promise<VoiceOutcome> {
    const base = `voice/${r.satellite}`;
    const wav = writeWav16(audio);
    const { url } = this.o.store.put(wav);
    if (publishTts) await this.o.mqtt.publishAsync(this.o.mqtt.topic(`${base}/tts`), wav);
    t.totalMs = Date.now() - completedAt;
    t.overheadMs = Math.max(0, t.totalMs - t.sttMs - t.answerMs - t.ttsMs);
    const response: VoiceResponse = { ...r, latency_ms: t.totalMs, tts_url: url };
    this.o.mqtt.publish(this.o.mqtt.topic(`${base}/response`), JSON.stringify(response), { qos: 1 });
    this.roundtrip.observe(t.totalMs / 1000);
    this.overhead.observe(t.overheadMs / 1000);
    this.o.log.info({ module: 'voice', satellite: r.satellite, route: r.route, latency_ms: t.totalMs, overhead_ms: t.overheadMs }, 'voice response');
    await this.o.bus.emit('voice.response', response);
    const player = this.o.mediaPlayers(r.satellite);
    if (player && this.o.playMedia) {
      // playing is a side effect: a failure is reported, the exchange itself succeeded
      this.o.playMedia(player, url).catch((err: unknown) => this.o.errors.report('voice', `media_player ${player}`, err));
    }
    return { response, wav, timings: t };
  }
}
