import '../backends/espeak/kind.js'; // registers backend kind `espeak`
import '../backends/wyoming/kind.js'; // registers backend kind `wyoming`
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import { bridgeAskGenerate } from '../sources/ask-history.js';
import { homeAssistantFor } from '../sources/homeassistant/index.js';
import { WyomingService } from '../wyoming/service.js';
import type { PlayMedia } from './pipeline.js';
import { VoiceService } from './service.js';

/** media_player.play_media through the shared HA websocket client, when HA is configured. */
function playMediaFor(ctx: AppContext): PlayMedia | undefined {
  const ha = homeAssistantFor(ctx);
  if (!ha) return undefined;
  return async (entityId, url) => {
    await ha.callService('media_player', 'play_media', { media_content_id: url, media_content_type: 'music' }, { entity_id: entityId });
  };
}

/** Satellite voice over MQTT on the router's stt / answer / tts path (voice.enabled). */
export function voiceFeature(ctx: AppContext): Service | undefined {
  return ctx.config.voice.enabled ? new VoiceService(ctx, { router: ctx.router, playMedia: playMediaFor(ctx) }) : undefined;
}

/** SARAi's Wyoming ASR, TTS and conversation servers for Home Assistant Assist (wyoming.enabled). */
export function wyomingFeature(ctx: AppContext): Service | undefined {
  return ctx.config.wyoming.enabled ? new WyomingService(ctx, ctx.router, bridgeAskGenerate(ctx)) : undefined;
}
