import '../backends/espeak/kind.js'; // registers backend kind `espeak`
import '../backends/wyoming/kind.js'; // registers backend kind `wyoming`
import type { GenerateResult } from '../backends/types.js';
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import { bridgeAskGenerate, bridgeAskRouting } from '../sources/ask-history.js';
import { homeAssistantFor } from '../sources/homeassistant/index.js';
import type { AnswerOptions, Routed } from '../router/types.js';
import { WyomingService } from '../wyoming/service.js';
import type { PlayMedia, VoiceRouter } from './pipeline.js';
import { VoiceService } from './service.js';

/** media_player.play_media through the shared HA websocket client, when HA is configured. */
function playMediaFor(ctx: AppContext): PlayMedia | undefined {
  const ha = homeAssistantFor(ctx);
  if (!ha) return undefined;
  return async (entityId, url) => {
    await ha.callService('media_player', 'play_media', { media_content_id: url, media_content_type: 'music' }, { entity_id: entityId });
  };
}

/**
 * The router, except that a spoken question goes where `sarai/ask` sends it: "did anyone come
 * to the door today?" is answered from the timeline; anything else by the router with the
 * voice caps (max tokens) the pipeline asked for.
 */
export function voiceRouterFor(ctx: AppContext): VoiceRouter {
  const routing = bridgeAskRouting(ctx);
  return {
    transcribe: (audio, opts) => ctx.router.transcribe(audio, opts),
    synthesize: (text, opts) => ctx.router.synthesize(text, opts),
    answer: async (text: string, opts: AnswerOptions = {}): Promise<Routed<GenerateResult>> => {
      if (opts.role || opts.system) return ctx.router.answer(text, opts);
      let routed: Routed<GenerateResult> | undefined;
      const ask = routing(async (t, signal, onToken) => {
        routed = await ctx.router.answer(t, { ...opts, signal, ...(onToken ? { onToken } : {}) });
        return { text: routed.value.text, model: routed.model, route: routed.route, route_reason: routed.reason, tokens: routed.value.tokens };
      });
      const started = performance.now();
      const a = await ask(text, opts.signal ?? new AbortController().signal, opts.onToken);
      if (routed) return routed;
      const latencyMs = performance.now() - started;
      return { value: { text: a.text, tokens: a.tokens, model: a.model, latencyMs }, route: a.route, reason: a.route_reason, model: a.model, latencyMs };
    },
  };
}

/** Satellite voice over MQTT on the stt / answer / tts path (voice.enabled); history questions reach the timeline. */
export function voiceFeature(ctx: AppContext): Service | undefined {
  return ctx.config.voice.enabled ? new VoiceService(ctx, { router: voiceRouterFor(ctx), playMedia: playMediaFor(ctx) }) : undefined;
}

/** SARAi's Wyoming ASR, TTS and conversation servers for Home Assistant Assist (wyoming.enabled). */
export function wyomingFeature(ctx: AppContext): Service | undefined {
  return ctx.config.wyoming.enabled ? new WyomingService(ctx, ctx.router, bridgeAskGenerate(ctx)) : undefined;
}
