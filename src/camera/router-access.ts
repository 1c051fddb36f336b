import type { AppContext } from '../core/context.js';
import { BackendError } from '../core/errors.js';
import type { ModelRouter } from '../router/types.js';

/**
 * The router, read at call time rather than captured at start (tests and benches swap in
 * their own; a context built without one gets a clear error instead of a crash).
 */
export function routerOf(ctx: AppContext): ModelRouter {
  const r = ctx.router as ModelRouter | undefined;
  if (!r) throw new BackendError('no model router is available: configure an image-capable model (models.omni or models.vision)');
  return r;
}
