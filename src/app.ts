import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { resolveDir, type LoadedConfig } from './config/load.js';
import { lockDataDir } from './core/data-dir-lock.js';
import { isSpooledInput } from './mqtt/input-topics.js';
import { Bus } from './core/bus.js';
import type { AppContext, BridgeEvents } from './core/context.js';
import { ErrorReporter } from './core/error-reporter.js';
import type { Service } from './core/lifecycle.js';
import { Metrics } from './core/metrics.js';
import { VERSION } from './core/version.js';
import { dashboard } from './http/dashboard.js';
import { registerHealthRoutes } from './http/health.js';
import { HttpServer } from './http/server.js';
import { createLogger, logFormat, type Logger } from './log/logger.js';
import { MqttBridge } from './mqtt/client.js';
import { EmbeddedBroker } from './mqtt/embedded-broker.js';
import { connectionOptions } from './mqtt/connection-options.js';
import { BridgeDevice } from './publishers/bridge-device.js';
import { cameraFeature } from './camera/feature.js';
import { ClipSource } from './sources/clip.js';
import { soundsFeature } from './sounds/index.js';
import { timelineFeature } from './publishers/timeline/index.js';
import { digestFeature } from './digest/service.js';
import { frigateDescriptionsFeature } from './publishers/frigate/description-writer.js';
import { frigateFeature } from './sources/frigate/index.js';
import { homeAssistantFeature } from './sources/homeassistant/index.js';
import { voiceFeature, wyomingFeature } from './voice/feature.js';
import { DeviceDiscovery, instanceSlug } from './publishers/discovery/device-discovery.js';
import { backendsFeature, createModelLayer } from './router/model-layer.js';
import { askFeature } from './sources/ask.js';
import { clusterFeature, clusterOf } from './cluster/feature.js';
import { workerIdOf } from './cluster/worker-id.js';
import { InputTopicGuard } from './mqtt/input-topics.js';

/**
 * Features: each turns the context into services, started in this order and stopped in
 * reverse. A new feature is one line here.
 */
type Feature = (ctx: AppContext) => Service | Service[] | undefined;
const FEATURES: Feature[] = [
  (ctx) => backendsFeature(ctx), // model roles: health on the bridge device, disposed last
  (ctx) => clusterFeature(ctx), // cluster.group: worker status + lease, the group's result ledger
  (ctx) => {
    // camera results + snapshots in SQLite, GET /api/events; the digest counts from its store
    const timeline = timelineFeature(ctx);
    const digest = digestFeature(ctx, () => timeline.store);
    return digest ? [timeline, digest] : [timeline];
  },
  (ctx) => cameraFeature(ctx), // scheduler, camera entities, sarai/camera/<id>/snapshot
  (ctx) => new ClipSource(ctx), // sarai/camera/<id>/clip: RTSP clips and MP4/MKV bytes via ffmpeg
  (ctx) => soundsFeature(ctx), // sound events: live RTSP audio of cameras with sound_rtsp (clip audio: ClipSource)
  (ctx) => frigateFeature(ctx), // frigate/events, reviews, snapshots (when frigate.enabled)
  (ctx) => frigateDescriptionsFeature(ctx), // descriptions written back to Frigate's events (frigate.api_url)
  (ctx) => homeAssistantFeature(ctx), // HA websocket: motion -> camera_proxy snapshot, sarai_result/sarai_alert events
  (ctx) => voiceFeature(ctx), // sarai/voice/<satellite>/audio -> stt -> answer -> tts, TTS URLs, satellite devices
  (ctx) => wyomingFeature(ctx), // Wyoming ASR/TTS servers for HA Assist, announced to the Supervisor
  (ctx) => new InputTopicGuard(ctx), // camera/voice topics that match no input of the contract -> sarai/error
  (ctx) => askFeature(ctx), // sarai/ask (text or JSON {text, id}) -> router -> sarai/answer
  (ctx) => dashboard(ctx), // ingress web UI, access guard, live/system/voice/try-it APIs
];

export interface App {
  ctx: AppContext;
  broker?: EmbeddedBroker;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AppOptions {
  log?: Logger;
}

/** The composition root: builds every part; start() brings them up in order. */
export function createApp(loaded: LoadedConfig, opts: AppOptions = {}): App {
  const config = loaded.config;
  const log = opts.log ?? createLogger(config.log.level, process.stdout, logFormat(config.log.format));
  const metrics = new Metrics();
  const workerId = config.cluster.group ? workerIdOf(config) : undefined;
  const dataDir = resolveDir(loaded, config.data_dir);
  const modelsDir = resolveDir(loaded, config.models_dir);
  const broker = config.mqtt.url ? undefined : new EmbeddedBroker(config.mqtt.embedded.host, config.mqtt.embedded.port, log);
  const mqtt = new MqttBridge(
    {
      url: config.mqtt.url ?? '', // embedded: filled in once the broker has its port
      username: config.mqtt.username,
      password: config.mqtt.password,
      ...connectionOptions(config.mqtt, dataDir, loaded.source, loaded.baseDir, !!workerId), // id, session, TLS
      baseTopic: config.mqtt.base_topic,
      protocolVersion: broker ? 4 : 5,
      keepaliveS: config.mqtt.keepalive_s,
      reconnectMaxMs: config.mqtt.reconnect_max_ms,
      maxPayloadBytes: Math.round(config.mqtt.max_payload_mb * 1_048_576),
      ...(config.mqtt.spool_max_age_s > 0
        ? {
            spool: {
              dir: path.join(dataDir, 'spool'),
              maxAgeMs: config.mqtt.spool_max_age_s * 1000,
              maxBytes: 4 * config.scheduler.max_queued_mb * 1_048_576,
              isInput: (topic: string) => isSpooledInput(config.mqtt.base_topic, topic),
            },
          }
        : {}),
      ...(workerId ? { shareGroup: config.cluster.group, workerStatusTopic: `${config.mqtt.base_topic}/worker/${workerId}/status` } : {}),
    },
    log,
    metrics,
  );
  const errors = new ErrorReporter(mqtt, log, metrics);
  mqtt.setRejectHandler((topic, reason) => errors.report('mqtt', topic, reason));
  const http = new HttpServer(config.http.host, config.http.port, log);
  const slug = instanceSlug(config.mqtt.base_topic);
  const discovery = new DeviceDiscovery(
    mqtt,
    config.mqtt.discovery_prefix,
    `sarai_${slug}`,
    { name: 'SARAi Omni Bridge', sw: VERSION, url: 'https://github.com/sarai-omni/sarai-omni-bridge' },
    log,
    config.mqtt.discovery,
    // cluster mode: another worker's devices are not stale; each worker publishes identical configs
    !workerId,
  );
  const bridge = new BridgeDevice(mqtt, discovery, errors, VERSION, log, workerId);
  bridge.addStateProvider(() => (mqtt.credentialsRefusedAt ? { mqtt_credentials_refused_at: mqtt.credentialsRefusedAt } : {}));
  // the group's live workers are known once the context exists (cluster mode only)
  const late: { ctx?: AppContext } = {};
  const poolPlace = () => (late.ctx ? clusterOf(late.ctx)?.lease.place() : undefined);
  const models = createModelLayer(config, modelsDir, log, metrics, { baseDir: loaded.baseDir, ...(workerId ? { poolPlace } : {}) });
  const ctx: AppContext = {
    config,
    version: VERSION,
    paths: { data: dataDir, models: modelsDir, configSource: loaded.source },
    log,
    metrics,
    mqtt,
    errors,
    http,
    discovery,
    bridge,
    bus: new Bus<BridgeEvents>(log),
    backends: models.backends,
    router: models.router,
    ...(models.manager ? { models: models.manager } : {}),
  };
  late.ctx = ctx;
  registerHealthRoutes(http, mqtt, metrics, VERSION);

  const services: Service[] = [];
  const started: Service[] = [];
  let dataLock: { release(): Promise<void> } | undefined;

  return {
    ctx,
    broker,
    async start() {
      mkdirSync(ctx.paths.data, { recursive: true });
      dataLock = await lockDataDir(ctx.paths.data); // before anything opens the database or the spool
      if (broker) {
        await broker.start();
        mqtt.useUrl(broker.url);
      }
      await http.start();
      discovery.start();
      mqtt.holdOnlineUntilReady();
      await mqtt.connect();
      for (const f of FEATURES) {
        const s = f(ctx);
        if (s) services.push(...(Array.isArray(s) ? s : [s]));
      }
      services.unshift(bridge);
      for (const s of services) {
        await s.start();
        started.push(s);
      }
      // inputs published right after start() must not be lost: wait for every SUBACK
      await mqtt.subscriptionsSettled();
      mqtt.deliverHeld(); // what the broker queued while we were away, now that all listen
      log.info({ module: 'app', version: VERSION, features: services.map((s) => s.name) }, 'SARAi is running');
    },
    async stop() {
      mqtt.keepSessionOnStop(); // inputs sent while we are down queue on the broker
      for (const s of started.reverse()) {
        try {
          await s.stop();
        } catch (err) {
          log.error({ module: s.name, err }, 'stop failed');
        }
      }
      started.length = 0;
      discovery.stop();
      await mqtt.close();
      await http.stop();
      await broker?.stop();
      await dataLock?.release();
      dataLock = undefined;
    },
  };
}
