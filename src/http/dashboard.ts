import type { AppContext } from '../core/context.js';
import { errorMessage } from '../core/errors.js';
import type { Service } from '../core/lifecycle.js';
import { createAccessGuard, isLoopback } from './access.js';
import { LiveStream } from './api-live.js';
import { registerSystemRoutes } from './api-system.js';
import { registerTryRoutes } from './api-try.js';
import { VoiceLog } from './api-voice.js';
import { registerCardRoute } from './card-route.js';
import { HttpError } from './respond.js';
import { registerUiRoutes } from './ui-routes.js';

/**
 * The dashboard feature: the access guard, the ingress web UI and its APIs (live stream,
 * system, voice log, try-it). The timeline API (/api/events) belongs to the timeline store.
 */
export function dashboard(ctx: AppContext, env: NodeJS.ProcessEnv = process.env): Service[] {
  const { host, token } = ctx.config.http;
  const addon = Boolean(env['SUPERVISOR_TOKEN']);
  ctx.http.setGuard(createAccessGuard({ addon, token, host }));
  if (!addon && !isLoopback(host) && !token) {
    ctx.log.warn({ module: 'dashboard', host }, 'http.token is empty: the UI and API answer only local (loopback) clients');
  }
  try {
    registerUiRoutes(ctx.http, { token });
  } catch (err) {
    // a broken install must not take the bridge (MQTT, models, API) down with its web page
    ctx.log.error({ module: 'dashboard', err: errorMessage(err) }, 'web UI not available');
    ctx.http.route('GET', '/', () => {
      throw new HttpError(503, `the web UI is not installed: ${errorMessage(err)}`);
    });
  }
  try {
    registerCardRoute(ctx.http);
  } catch (err) {
    ctx.log.error({ module: 'dashboard', err: errorMessage(err) }, 'Lovelace card not available');
  }
  registerSystemRoutes(ctx);
  registerTryRoutes(ctx);
  const live = new LiveStream(ctx);
  live.register();
  const voice = new VoiceLog(ctx);
  voice.register();
  return [live, voice];
}
