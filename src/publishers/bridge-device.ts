import type { ErrorReporter } from '../core/error-reporter.js';
import type { Service } from '../core/lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { MqttBridge } from '../mqtt/client.js';
import { deviceConfig, type Component, type DeviceDiscovery } from './discovery/device-discovery.js';

/** Extra fields other modules put into the bridge state (loaded models, queue, backends). */
export type StateProvider = () => Record<string, unknown>;

const STATE_INTERVAL_MS = 30_000;

/**
 * The bridge's own HA device: status, version, uptime, memory, loaded models, queue depth,
 * last error. One retained JSON state topic (`<base>/bridge/state`); entities read fields
 * with value templates, so a state update is one message, not one per entity.
 */
export class BridgeDevice implements Service {
  readonly name = 'bridge-device';
  private readonly providers: StateProvider[] = [];
  private readonly extraComponents = new Map<string, Component>();
  private timer?: NodeJS.Timeout;
  private readonly startedAt = new Date();
  private lastState = '';

  constructor(
    private readonly mqtt: MqttBridge,
    private readonly discovery: DeviceDiscovery,
    private readonly errors: ErrorReporter,
    private readonly version: string,
    private readonly log: Logger,
    /** Cluster mode: each worker is its own device (`<prefix>_worker_<id>`, `<base>/worker/<id>/bridge/state`). */
    private readonly workerId?: string,
  ) {}

  get deviceId(): string {
    return this.workerId ? `${this.discovery.idPrefix}_worker_${this.workerId}` : `${this.discovery.idPrefix}_bridge`;
  }
  get stateTopic(): string {
    return this.mqtt.topic(this.workerId ? `worker/${this.workerId}/bridge/state` : 'bridge/state');
  }

  addStateProvider(fn: StateProvider): void {
    this.providers.push(fn);
  }

  /** Lets other modules add entities to the bridge device (e.g. a backend problem sensor). */
  async addComponent(key: string, component: Omit<Component, 'unique_id'> & { unique_id?: string }): Promise<void> {
    this.extraComponents.set(key, { unique_id: `${this.deviceId}_${key}`, ...component } as Component);
    await this.announce();
  }

  async start(): Promise<void> {
    this.discovery.onAnnounce(() => this.publishState(true));
    this.errors.onReport(() => void this.publishState(false));
    await this.announce();
    this.timer = setInterval(() => void this.publishState(true), STATE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  state(): Record<string, unknown> {
    const mem = process.memoryUsage();
    const base: Record<string, unknown> = {
      status: this.mqtt.connected ? 'online' : 'offline',
      version: this.version,
      started_at: this.startedAt.toISOString(),
      uptime_s: Math.round(process.uptime()),
      memory_mb: Math.round(mem.rss / 1_048_576),
      loaded_models: [] as string[],
      loaded_model_count: 0,
      queue_depth: 0,
      last_error: this.errors.last?.error ?? '',
      last_error_at: this.errors.last?.ts ?? null,
    };
    for (const p of this.providers) {
      try {
        Object.assign(base, p());
      } catch (err) {
        this.log.error({ module: 'bridge-device', err }, 'state provider failed');
      }
    }
    return base;
  }

  /** Publishes when forced (timer, re-announce) or when something other than uptime/memory changed. */
  async publishState(force: boolean): Promise<void> {
    const s = this.state();
    const { uptime_s: _u, memory_mb: _m, ...stable } = s;
    const key = JSON.stringify(stable);
    if (!force && key === this.lastState) return;
    this.lastState = key;
    await this.mqtt.publishAsync(this.stateTopic, JSON.stringify(s), { retain: true, qos: 1 });
  }

  private async announce(): Promise<void> {
    const id = this.deviceId;
    const st = this.stateTopic;
    const diag = { entity_category: 'diagnostic' };
    const cmps: Record<string, Component> = {
      status: {
        p: 'binary_sensor', name: 'Status', unique_id: `${id}_status`, device_class: 'connectivity',
        state_topic: this.mqtt.willTopic, payload_on: 'online', payload_off: 'offline', ...diag,
      },
      version: { p: 'sensor', name: 'Version', unique_id: `${id}_version`, state_topic: st, value_template: '{{ value_json.version }}', icon: 'mdi:tag', ...diag },
      started: {
        p: 'sensor', name: 'Started', unique_id: `${id}_started`, state_topic: st, device_class: 'timestamp',
        value_template: '{{ value_json.started_at }}', ...diag,
      },
      uptime: {
        p: 'sensor', name: 'Uptime', unique_id: `${id}_uptime`, state_topic: st, device_class: 'duration', unit_of_measurement: 's',
        state_class: 'total_increasing', value_template: '{{ value_json.uptime_s }}', ...diag,
      },
      memory: {
        p: 'sensor', name: 'Memory', unique_id: `${id}_memory`, state_topic: st, unit_of_measurement: 'MB', device_class: 'data_size',
        state_class: 'measurement', value_template: '{{ value_json.memory_mb }}', icon: 'mdi:memory', ...diag,
      },
      loaded_models: {
        p: 'sensor', name: 'Loaded models', unique_id: `${id}_loaded_models`, state_topic: st, icon: 'mdi:brain',
        value_template: '{{ value_json.loaded_model_count }}', json_attributes_topic: st,
        json_attributes_template: '{{ {"models": value_json.loaded_models} | tojson }}',
      },
      queue: {
        p: 'sensor', name: 'Queue depth', unique_id: `${id}_queue`, state_topic: st, state_class: 'measurement',
        value_template: '{{ value_json.queue_depth }}', icon: 'mdi:tray-full', ...diag,
      },
      last_error: {
        p: 'sensor', name: 'Last error', unique_id: `${id}_last_error`, state_topic: st, icon: 'mdi:alert-circle-outline',
        value_template: '{{ (value_json.last_error or "none")[:255] }}', ...diag,
      },
      ...Object.fromEntries(this.extraComponents),
    };
    await this.discovery.setDevice(id, deviceConfig({ ids: [id], name: this.workerId ? `SARAi worker ${this.workerId}` : 'SARAi Omni Bridge', mf: 'SARAi', mdl: 'Omni Bridge', sw: this.version }, this.mqtt.willTopic, cmps));
  }
}
