import type { Logger } from '../../log/logger.js';
import type { IncomingMessage, MqttBridge } from '../../mqtt/client.js';

/** One HA entity inside a device config (`cmps`); `p` is the platform (sensor, image, ...). */
export interface Component {
  p: string;
  unique_id: string;
  [key: string]: unknown;
}

export interface DeviceConfig {
  dev: { ids: string[]; name: string; [key: string]: unknown };
  cmps: Record<string, Component>;
  [key: string]: unknown;
}

/**
 * The envelope every SARAi device shares: its HA device block, availability on the bridge's
 * status topic (a dead bridge greys out every entity through its last will), QoS 1.
 */
export function deviceConfig(dev: DeviceConfig['dev'], statusTopic: string, cmps: Record<string, Component>): DeviceConfig {
  return { dev, availability_topic: statusTopic, payload_available: 'online', payload_not_available: 'offline', qos: 1, cmps };
}

/** How long after connect we listen for our own old retained configs (ms). */
const STALE_SCAN_MS = 2_000;
/** Fewest ms between two re-announcements asked for by `<prefix>/status online`. */
export const REANNOUNCE_MIN_MS = 5_000;

/**
 * Device-based MQTT discovery (`<prefix>/device/<id>/config`, retained, QoS 1) for all of
 * SARAi's devices. Publishes only what changed, re-announces everything when HA says
 * `online`, and clears retained configs of this instance that it no longer produces.
 */
export class DeviceDiscovery {
  private readonly devices = new Map<string, DeviceConfig>();
  private readonly published = new Map<string, string>();
  private readonly announceListeners: (() => void | Promise<void>)[] = [];
  private scanTimer?: NodeJS.Timeout;
  private unsubscribes: (() => void)[] = [];
  private lastReannounceAt = -Infinity;
  private reannounceTimer?: NodeJS.Timeout;

  constructor(
    private readonly mqtt: MqttBridge,
    private readonly prefix: string,
    /** Device ids of this instance start with this (so two bridges never clear each other's). */
    readonly idPrefix: string,
    private readonly origin: { name: string; sw: string; url: string },
    private readonly log: Logger,
    private readonly enabled = true,
    /** Clear our configs no longer produced at connect (off in cluster mode: the group shares the prefix). */
    private readonly clearStale = true,
  ) {}

  configTopic(deviceId: string): string {
    return `${this.prefix}/device/${deviceId}/config`;
  }

  /** Called after discovery is (re)announced, so publishers re-send their states. */
  onAnnounce(fn: () => void | Promise<void>): void {
    this.announceListeners.push(fn);
  }

  start(): void {
    this.unsubscribes.push(
      this.mqtt.subscribe(`${this.prefix}/status`, 'discovery', (m) => {
        if (m.payload.toString().trim() === 'online') this.onHomeAssistantOnline();
      }),
    );
    this.mqtt.onConnect(() => this.onConnected());
  }

  /**
   * A flood of `online` (300 of them made 6,746 messages) must not amplify: one
   * re-announcement at once, then at most one per REANNOUNCE_MIN_MS; an `online` inside the
   * window schedules one at its end, so the last of a burst is still answered.
   */
  private onHomeAssistantOnline(): void {
    if (this.reannounceTimer) return;
    const wait = this.lastReannounceAt + REANNOUNCE_MIN_MS - Date.now();
    const run = (): void => {
      this.reannounceTimer = undefined;
      this.lastReannounceAt = Date.now();
      this.log.info({ module: 'discovery' }, 'Home Assistant is online; re-announcing discovery');
      void this.announce(true);
    };
    if (wait <= 0) return run();
    this.reannounceTimer = setTimeout(run, wait);
    this.reannounceTimer.unref();
  }

  private async onConnected(): Promise<void> {
    await this.announce(true);
    this.scanForStale();
  }

  /** Subscribes to all device configs for a moment and clears ours that are not current. */
  private scanForStale(): void {
    if (!this.enabled || !this.clearStale || this.scanTimer) return;
    const unsub = this.mqtt.subscribe(`${this.prefix}/device/+/config`, 'discovery-scan', (m) => this.checkStale(m));
    this.scanTimer = setTimeout(() => {
      unsub();
      this.scanTimer = undefined;
    }, STALE_SCAN_MS);
    this.scanTimer.unref();
  }

  private checkStale(m: IncomingMessage): void {
    if (!m.retain || m.payload.length === 0) return;
    const deviceId = m.topic.split('/')[2] ?? '';
    if (!deviceId.startsWith(this.idPrefix) || this.devices.has(deviceId)) return;
    let origin: unknown;
    try {
      origin = (JSON.parse(m.payload.toString()) as { o?: { name?: unknown } }).o?.name;
    } catch {
      return;
    }
    if (origin !== this.origin.name) return;
    this.log.info({ module: 'discovery', device: deviceId }, 'clearing discovery config this bridge no longer produces');
    this.mqtt.publish(m.topic, '', { retain: true, qos: 1 });
  }

  /**
   * Adds or replaces a device; publishes when connected and changed. Every component gets a
   * `default_entity_id` (unless it brings its own): see defaultEntityId.
   */
  async setDevice(deviceId: string, given: DeviceConfig): Promise<void> {
    const config: DeviceConfig = {
      ...given,
      cmps: Object.fromEntries(Object.entries(given.cmps).map(([key, c]) => [key, { default_entity_id: defaultEntityId(c.p, deviceId, key), ...c }])),
    };
    const previous = this.devices.get(deviceId);
    const full: DeviceConfig = { ...config, cmps: { ...config.cmps }, o: this.origin };
    // components that disappeared are removed by sending just their platform once
    if (previous) {
      for (const [key, c] of Object.entries(previous.cmps)) {
        if (!(key in full.cmps)) full.cmps[key] = { p: c.p, unique_id: c.unique_id };
      }
    }
    this.devices.set(deviceId, config);
    await this.publishDevice(deviceId, full, false);
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.devices.delete(deviceId);
    this.published.delete(deviceId);
    if (this.enabled) await this.mqtt.publishAsync(this.configTopic(deviceId), '', { retain: true, qos: 1 });
  }

  deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  private async publishDevice(deviceId: string, config: DeviceConfig, force: boolean): Promise<void> {
    if (!this.enabled || !this.mqtt.connected) return;
    const text = JSON.stringify(config);
    if (!force && this.published.get(deviceId) === text) return;
    this.published.set(deviceId, text);
    await this.mqtt.publishAsync(this.configTopic(deviceId), text, { retain: true, qos: 1 });
  }

  /** Publishes every device (force: even unchanged), then lets publishers re-send states. */
  async announce(force: boolean): Promise<void> {
    for (const [id, config] of this.devices) await this.publishDevice(id, { ...config, o: this.origin }, force);
    for (const fn of this.announceListeners) {
      try {
        await fn();
      } catch (err) {
        this.log.error({ module: 'discovery', err }, 're-announce listener failed');
      }
    }
  }

  stop(): void {
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.scanTimer = undefined;
    clearTimeout(this.reannounceTimer);
    this.reannounceTimer = undefined;
    for (const u of this.unsubscribes) u();
    this.unsubscribes = [];
  }
}

/**
 * The entity id SARAi asks HA to give a component on first discovery: `<platform>.<instance>_
 * <device>_<component>`, e.g. `sensor.sarai_camera_front_door_summary` for device
 * `sarai_sarai_camera_front_door`, component `summary`. Stable across restarts and renames
 * of the camera's display name, and unique per bridge instance. HA (2025.10+) reads
 * `default_entity_id`; `object_id` is never sent (ignored since HA 2026.4). HA keeps a user's
 * own rename; the id only applies when the entity is first registered. Reduced to what HA
 * accepts in an entity id: [a-z0-9_], no leading, trailing or doubled underscore.
 */
export function defaultEntityId(platform: string, deviceId: string, component: string): string {
  const objectId = `${deviceId.replace(/^sarai_/, '')}_${component}`.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
  return `${platform}.${objectId}`;
}

/** `sarai` / `home/sarai-2` -> `sarai` / `home_sarai_2`: safe inside ids and entity ids. */
export function instanceSlug(baseTopic: string): string {
  return baseTopic.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'sarai';
}
