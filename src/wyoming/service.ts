import type { Audio } from '../backends/types.js';
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { ModelRouter } from '../router/types.js';
import { MAX_ASK_CHARS, type AskGenerate } from '../sources/ask.js';
import { MAX_SPEAK_CHARS, checkSpeakable } from '../voice/text.js';
import { announceWyoming } from './announce.js';
import { conversationAgent } from './conversation.js';
import { asrInfo, handleInfo, ttsInfo } from './info.js';
import { WyomingServer } from './server.js';

/**
 * SARAi's Wyoming ASR and TTS servers (wyoming.asr_port, wyoming.tts_port) backed by the
 * router's stt and tts roles, and the conversation agent (wyoming.handle_port) answered by the
 * bridge's ask path (the same one as `sarai/ask`), each announced to the Supervisor when
 * running as an add-on.
 */
export class WyomingService implements Service {
  readonly name = 'wyoming';
  readonly asr: WyomingServer;
  readonly tts: WyomingServer;
  /** The conversation agent, when wyoming.conversation. */
  readonly conversation?: WyomingServer;

  constructor(
    private readonly ctx: AppContext,
    router: Pick<ModelRouter, 'transcribe' | 'synthesize'>,
    /** The bridge's ask path (bridgeAskGenerate); absent: no conversation agent. */
    ask?: AskGenerate,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    const w = ctx.config.wyoming;
    const info = {
      version: ctx.version,
      languages: w.languages,
      sttModel: ctx.config.models['stt']?.name || 'sarai-stt',
      ttsVoice: ctx.config.models['tts']?.voice || ctx.config.models['tts']?.name || 'sarai',
      textModel: ctx.config.models[ctx.config.router.text_default]?.name,
    };
    const engine = {
      transcribe: async (audio: Audio) => (await router.transcribe(audio)).value,
      synthesize: async (text: string) => (await router.synthesize(checkSpeakable(text))).value.audio,
      ...(ask ? { handle: conversationAgent(ask, ctx.config.voice.max_answer_chars) } : {}),
    };
    const common = {
      host: w.host,
      engine,
      maxUtteranceS: ctx.config.voice.max_utterance_s,
      maxTextChars: MAX_SPEAK_CHARS,
      log: ctx.log,
      maxConnections: w.max_connections,
      idleTimeoutMs: w.idle_timeout_s * 1000,
      eventTimeoutMs: w.event_timeout_s * 1000,
    };
    this.asr = new WyomingServer({ ...common, kind: 'asr', port: w.asr_port, info: asrInfo(info), onError: (err) => ctx.errors.report('wyoming', 'wyoming/asr', err) });
    this.tts = new WyomingServer({ ...common, kind: 'tts', port: w.tts_port, info: ttsInfo(info), onError: (err) => ctx.errors.report('wyoming', 'wyoming/tts', err) });
    if (w.conversation && ask) {
      this.conversation = new WyomingServer({
        ...common, kind: 'handle', port: w.handle_port, info: handleInfo(info), maxTextChars: MAX_ASK_CHARS, languages: w.languages,
        onError: (err) => ctx.errors.report('wyoming', 'wyoming/handle', err),
      });
    }
  }

  async start(): Promise<void> {
    await this.asr.start();
    await this.tts.start();
    await this.conversation?.start();
    // one discovery per server: HA sets up a Wyoming entry per URI (speech-to-text, text-to-speech, conversation)
    const token = this.env['SUPERVISOR_TOKEN'];
    if (token && this.ctx.config.wyoming.announce) {
      for (const port of [this.asr.port, this.tts.port, ...(this.conversation ? [this.conversation.port] : [])]) {
        void announceWyoming({ token, supervisorUrl: this.env['SUPERVISOR_URL'], host: this.ctx.config.wyoming.announce_host, port, log: this.ctx.log });
      }
    }
  }

  async stop(): Promise<void> {
    await this.conversation?.stop();
    await this.tts.stop();
    await this.asr.stop();
  }
}
