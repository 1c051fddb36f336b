import '../backends/kinds.js'; // registers llama, transformers, openai, ollama
import { BackendRegistry, type BackendRegistryOptions } from '../backends/registry.js';
import type { Config } from '../config/schema/index.js';
import type { AppContext } from '../core/context.js';
import type { Service } from '../core/lifecycle.js';
import type { Logger } from '../log/logger.js';
import { Router } from './router.js';

export interface ModelLayer {
  backends: BackendRegistry;
  router: Router;
}

/**
 * The registry of configured backends and the router over it. The bridge builds one in
 * createApp; the CLI (`sarai describe`, `sarai ask`) builds one without MQTT or HTTP.
 * `metrics`: the prom-client registry for sarai_backend_* (omit for the CLI).
 */
export function createModelLayer(
  config: Config,
  modelsDir: string,
  log: Logger,
  metrics?: import('prom-client').Registry,
  external?: BackendRegistryOptions['external'],
): ModelLayer {
  const backends = new BackendRegistry({ config, modelsDir, log, ...(metrics ? { metrics } : {}), ...(external ? { external } : {}) });
  return { backends, router: new Router(backends, log) };
}

/**
 * The backends as a bridge feature: builds the role table at start (missing models are
 * reported, not fatal), puts backend health on the bridge device (a problem binary_sensor
 * with the reasons as attributes), and disposes every backend on stop.
 */
export function backendsFeature(ctx: AppContext): Service {
  const registry = ctx.backends;
  return {
    name: 'backends',
    async start() {
      await registry.start();
      ctx.bridge.addStateProvider(() => registry.bridgeState());
      await ctx.bridge.addComponent('backend_problem', {
        p: 'binary_sensor',
        name: 'Backend problem',
        device_class: 'problem',
        entity_category: 'diagnostic',
        state_topic: ctx.bridge.stateTopic,
        value_template: '{{ "ON" if value_json.backend_problem else "OFF" }}',
        json_attributes_topic: ctx.bridge.stateTopic,
        json_attributes_template: '{{ {"problems": value_json.backend_problems, "backends": value_json.backends} | tojson }}',
      });
      await ctx.bridge.publishState(false);
    },
    stop: () => registry.stop(),
  };
}
