import { linkSignals } from '../core/abort.js';
import { takesStreams } from '../cluster/streams.js';
import type { AppContext } from '../core/context.js';
import { CapacityError, DisposedError } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import { SileroTrimmer } from '../media/audio/index.js';
import { INPUT_SUBSCRIBE, VOICE_FILTER, isVoiceSay, levelsBelow } from '../mqtt/input-topics.js';
import { checkId } from '../mqtt/topics.js';
import { schedulerFor } from '../scheduler/index.js';
import { VoiceAudioSource, type Utterance } from '../sources/voice/audio-source.js';
import { VoicePipeline, type PlayMedia, type VoiceRouter } from './pipeline.js';
import { satelliteDevice } from './satellite-device.js';
import { decodeUtf8 } from './text.js';
import { TtsStore, ttsBaseUrl } from './tts-store.js';

export interface VoiceServiceOptions {
  router: VoiceRouter;
  /** media_player.play_media through the HA websocket, when configured. */
  playMedia?: PlayMedia;
}

/**
 * The voice feature: satellite audio over MQTT -> the shared scheduler (kind `voice`, one
 * queue per satellite, highest priority) -> the voice pipeline; the TTS media route; one HA
 * device per configured satellite; and `<base>/voice/<satellite>/say` (text to speak).
 */
export class VoiceService implements Service {
  readonly name = 'voice';
  readonly store: TtsStore;
  readonly pipeline: VoicePipeline;
  readonly source: VoiceAudioSource;
  private readonly vad?: SileroTrimmer;
  private lifetime = new AbortController();
  private unsubscribes: (() => void)[] = [];

  constructor(
    private readonly ctx: AppContext,
    opts: VoiceServiceOptions,
  ) {
    const c = ctx.config;
    this.store = new TtsStore(c.voice.tts_url_ttl_s, () => ttsBaseUrl(c.http.public_url, c.http.host, ctx.http.port));
    this.vad = c.voice.vad ? new SileroTrimmer() : undefined;
    this.pipeline = new VoicePipeline({
      router: opts.router,
      mqtt: ctx.mqtt,
      errors: ctx.errors,
      bus: ctx.bus,
      store: this.store,
      log: ctx.log,
      registry: ctx.metrics.registry,
      vad: this.vad,
      mediaPlayers: (s) => c.satellites[s]?.media_player || undefined,
      playMedia: opts.playMedia,
      limits: { maxTokens: c.voice.max_answer_tokens, maxChars: c.voice.max_answer_chars },
      bySentence: c.voice.speak_by_sentence,
      roleMaxTokens: (role) => c.models[role]?.max_tokens,
    });
    this.source = new VoiceAudioSource({
      mqtt: ctx.mqtt,
      log: ctx.log,
      maxUtteranceS: c.voice.max_utterance_s,
      streamTimeoutS: c.voice.stream_timeout_s,
      streams: takesStreams(c),
      onUtterance: (u) => this.submit(u),
      onError: (topic, err) => ctx.errors.report('voice', topic, err),
    });
  }

  async start(): Promise<void> {
    this.lifetime = new AbortController();
    this.store.register(this.ctx.http);
    this.source.start();
    this.unsubscribes.push(
      this.ctx.mqtt.subscribe(this.ctx.mqtt.topic(VOICE_FILTER), 'voice-say', async (m) => {
        if (m.retain || !isVoiceSay(levelsBelow(this.ctx.mqtt.baseTopic, m.topic))) return;
        try {
          const satellite = checkId('satellite', m.topic.slice(this.ctx.mqtt.baseTopic.length + 1).split('/')[1]);
          await this.pipeline.say(satellite, decodeUtf8(m.payload, 'text to speak'), this.lifetime.signal);
        } catch (err) {
          this.ctx.errors.report('voice', m.topic, err);
        }
      }, 1, false, INPUT_SUBSCRIBE),
    );
    for (const [id, s] of Object.entries(this.ctx.config.satellites)) {
      const deviceId = `${this.ctx.discovery.idPrefix}_satellite_${id}`;
      await this.ctx.discovery.setDevice(
        deviceId,
        satelliteDevice({
          deviceId,
          bridgeDeviceId: `${this.ctx.discovery.idPrefix}_bridge`,
          name: s.name || id,
          topicBase: this.ctx.mqtt.topic(`voice/${id}`),
          statusTopic: this.ctx.mqtt.statusTopic,
          version: this.ctx.version,
        }),
      );
    }
  }

  /** Queues an utterance as a `voice` job (one queue per satellite, so answers keep order). */
  private submit(u: Utterance): void {
    const signal = this.lifetime.signal;
    try {
      schedulerFor(this.ctx).scheduler.submit({
        kind: 'voice',
        source: `voice:${u.satellite}`,
        bytes: u.audio.samples.byteLength,
        run: async (jobSignal) => {
          if (signal.aborted) throw new DisposedError('voice service stopped');
          const linked = linkSignals([signal, jobSignal]);
          try {
            await this.pipeline.handle(u.satellite, u.audio, u.completedAt, linked.signal);
          } finally {
            linked.unlink();
          }
          return 'completed';
        },
      });
    } catch (err) {
      this.ctx.errors.report('voice', this.ctx.mqtt.topic(`voice/${u.satellite}/audio`), err instanceof CapacityError ? err : new CapacityError(String(err)));
    }
  }

  async stop(): Promise<void> {
    this.lifetime.abort(new DisposedError('voice service stopped'));
    for (const u of this.unsubscribes) u();
    this.unsubscribes = [];
    this.source.stop();
    this.store.stop();
    await this.vad?.dispose();
  }
}
