import type { BackendRegistry } from '../backends/registry.js';
import type { Config } from '../config/schema/index.js';
import type { DeviceDiscovery } from '../publishers/discovery/device-discovery.js';
import type { BridgeDevice } from '../publishers/bridge-device.js';
import type { HttpServer } from '../http/server.js';
import type { Logger } from '../log/logger.js';
import type { ModelManager } from '../models/manager.js';
import type { MqttBridge } from '../mqtt/client.js';
import type { ModelRouter } from '../router/types.js';
import type { Bus } from './bus.js';
import type { ErrorReporter } from './error-reporter.js';
import type { Metrics } from './metrics.js';
import type { AskAnswer, CameraAlert, CameraResult, VoiceResponse } from './results.js';

/** Events inside one bridge; publishers, the timeline and the UI listen here. */
export interface BridgeEvents {
  'camera.result': { result: CameraResult; image?: Buffer };
  /** A two-phase alert; `image` (JPEG) only at `detected`. */
  'camera.alert': { alert: CameraAlert; image?: Buffer };
  'ask.answer': AskAnswer;
  'voice.response': VoiceResponse;
}

/** Everything a feature needs, in one typed object instead of long constructor lists. */
export interface AppContext {
  config: Config;
  version: string;
  paths: { data: string; models: string; configSource: string };
  log: Logger;
  metrics: Metrics;
  mqtt: MqttBridge;
  errors: ErrorReporter;
  http: HttpServer;
  discovery: DeviceDiscovery;
  bridge: BridgeDevice;
  bus: Bus<BridgeEvents>;
  /** The configured model roles (health, lazy start, circuit breakers). */
  backends: BackendRegistry;
  /** The one way sources reach models. */
  router: ModelRouter;
  /** The in-process llama models (memory budget, LRU); the registry uses its backends. */
  models?: ModelManager;
}

/**
 * `create` run once per bridge, on first use: shared parts (the scheduler, the HA client,
 * camera metrics) without a field on the context for each. Per context, not per process,
 * because tests run several bridges in one process.
 */
export function perContext<T>(create: (ctx: AppContext) => T): (ctx: AppContext) => T {
  const made = new WeakMap<AppContext, T>();
  return (ctx) => {
    if (!made.has(ctx)) made.set(ctx, create(ctx));
    return made.get(ctx) as T;
  };
}
