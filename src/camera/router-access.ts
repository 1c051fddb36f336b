import type { AppContext } from '../core/context.js';
import { BackendError } from '../core/errors.js';
import type { ModelRouter } from '../router/types.js';

/**
 * The router from the context, read at call time (the router feature may attach it after
 * the camera features are built; tests may attach their own).
 */
export function routerOf(ctx: AppContext): ModelRouter {
  const r = (ctx as AppContext & { router?: ModelRouter }).router;
  if (!r) throw new BackendError('no model router is available: configure an image-capable model (models.omni or models.vision)');
  return r;
}
