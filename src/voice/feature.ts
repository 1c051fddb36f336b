import '../backends/espeak/kind.js'; // registers backend kind `espeak`
import '../backends/wyoming/kind.js'; // registers backend kind `wyoming`
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
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

/** Voice over MQTT and the Wyoming servers, both on the router's stt / answer / tts path. */
export function voiceFeature(ctx: AppContext): Service[] {
  const services: Service[] = [];
  if (ctx.config.voice.enabled) services.push(new VoiceService(ctx, { router: ctx.router, playMedia: playMediaFor(ctx) }));
  if (ctx.config.wyoming.enabled) services.push(new WyomingService(ctx, ctx.router));
  return services;
}
