import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { ModelRouter } from '../router/types.js';
import { WyomingService } from '../wyoming/service.js';
import { VoiceService } from './service.js';

/** The router once it is on the context (the model layer adds it); undefined before. */
function routerOf(ctx: AppContext): ModelRouter | undefined {
  return (ctx as AppContext & { router?: ModelRouter }).router;
}

/** Voice over MQTT and the Wyoming servers, both on the router's stt/answer/tts path. */
export function voiceFeature(ctx: AppContext): Service[] {
  const router = routerOf(ctx);
  if (!router) {
    ctx.log.warn({ module: 'voice' }, 'no model router on the context; voice and Wyoming are off');
    return [];
  }
  const services: Service[] = ctx.config.voice.enabled ? [new VoiceService(ctx, { router })] : [];
  if (ctx.config.wyoming.enabled) services.push(new WyomingService(ctx, router));
  return services;
}
