import type { AppContext } from '../../core/context.js';
import type { Service } from '../../core/lifecycle.js';
import type { CameraAlert, CameraResult } from '../../core/results.js';
import { checkId } from '../../mqtt/topics.js';
import { cameraSettings } from '../../camera/settings.js';
import { resultJson } from './attributes.js';
import { cameraDevice, cameraTopics, type CameraTopics } from './entities.js';

interface CameraState {
  topics: CameraTopics;
  resultText?: string;
  image?: Buffer;
  alertOn: boolean;
  alertTimer?: NodeJS.Timeout;
}

/**
 * Turns camera results into HA entities per camera: device discovery (announced for
 * configured cameras at start, for others on their first result), the retained result JSON
 * (sensor state = summary, attributes = the JSON), the alert binary_sensor (OFF again after
 * camera_defaults.alert_off_s), the retained image and the event entity. States are
 * re-published when HA comes back online.
 */
export class CameraPublisher implements Service {
  readonly name = 'camera-publisher';
  private readonly cameras = new Map<string, CameraState>();
  private off: (() => void)[] = [];

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    this.off.push(this.ctx.bus.on('camera.result', this.name, (e) => this.publish(e.result, e.image)));
    this.off.push(this.ctx.bus.on('camera.alert', this.name, (e) => this.publishAlert(e.alert, e.image)));
    this.ctx.discovery.onAnnounce(() => this.republish());
    for (const id of Object.keys(this.ctx.config.cameras)) await this.ensureDevice(id);
  }

  async stop(): Promise<void> {
    for (const f of this.off) f();
    this.off = [];
    for (const s of this.cameras.values()) if (s.alertTimer) clearTimeout(s.alertTimer);
  }

  private async ensureDevice(camera: string): Promise<CameraState> {
    let s = this.cameras.get(camera);
    if (s) return s;
    s = { topics: cameraTopics((r) => this.ctx.mqtt.topic(r), camera), alertOn: false };
    this.cameras.set(camera, s);
    const cam = cameraSettings(this.ctx.config, camera);
    await this.ctx.discovery.setDevice(`${this.ctx.discovery.idPrefix}_camera_${camera}`, cameraDevice({
      deviceId: `${this.ctx.discovery.idPrefix}_camera_${camera}`,
      // the group's id, not a worker's: every worker of a cluster publishes identical camera configs
      bridgeDeviceId: `${this.ctx.discovery.idPrefix}_bridge`,
      name: cam.name,
      camera,
      topics: s.topics,
      statusTopic: this.ctx.mqtt.statusTopic,
      alertOffS: this.ctx.config.camera_defaults.alert_off_s,
      version: this.ctx.version,
      sounds: this.ctx.config.cameras[camera]?.sounds ?? [],
    }));
    return s;
  }

  private async publish(result: CameraResult, image?: Buffer): Promise<void> {
    // Producers pass checked ids; checked again because this builds topics.
    const camera = checkId('camera', result.camera);
    // A known camera publishes in this tick, before the timeline's SQLite write.
    const s = this.cameras.get(camera) ?? (await this.ensureDevice(camera));
    const mqtt = this.ctx.mqtt;
    s.resultText = resultJson(result);
    if (image) s.image = image;
    // The result first: it is what automations wait for; the image bytes follow it.
    const sends: Promise<void>[] = [mqtt.publishAsync(s.topics.result, s.resultText, { retain: true, qos: 1 })];
    sends.push(mqtt.publishAsync(s.topics.event, JSON.stringify({ event_type: result.event_type, summary: result.summary }), { qos: 1 }));
    if (result.alert) {
      sends.push(this.alertOn(s));
    } else if (!s.alertOn) {
      sends.push(mqtt.publishAsync(s.topics.alert, 'OFF', { retain: true, qos: 1 }));
    }
    if (image) sends.push(mqtt.publishAsync(s.topics.image, image, { retain: true, qos: 0 }));
    await Promise.all(sends);
  }

  /** ON now, OFF again after camera_defaults.alert_off_s (a new alert restarts the wait). */
  private alertOn(s: CameraState): Promise<void> {
    const mqtt = this.ctx.mqtt;
    s.alertOn = true;
    if (s.alertTimer) clearTimeout(s.alertTimer);
    s.alertTimer = setTimeout(() => {
      s.alertTimer = undefined;
      s.alertOn = false;
      mqtt.publish(s.topics.alert, 'OFF', { retain: true, qos: 1 });
    }, this.ctx.config.camera_defaults.alert_off_s * 1000);
    s.alertTimer.unref();
    return mqtt.publishAsync(s.topics.alert, 'ON', { retain: true, qos: 1 });
  }

  /**
   * Both phases on `sarai/alert`; at `detected` also the raw snapshot on the image entity and
   * the alert ON when the source's own label already met the rules (the model may add it later).
   */
  private async publishAlert(alert: CameraAlert, image?: Buffer): Promise<void> {
    const camera = checkId('camera', alert.camera);
    const mqtt = this.ctx.mqtt;
    const sends = [mqtt.publishAsync(mqtt.topic('alert'), JSON.stringify(alert), { qos: 1 })];
    if (alert.phase === 'detected') {
      // a known camera publishes in this tick; a new one announces its device first
      const s = this.cameras.get(camera) ?? (await this.ensureDevice(camera));
      if (image) {
        s.image = image;
        sends.push(mqtt.publishAsync(s.topics.image, image, { retain: true, qos: 0 }));
      }
      if (alert.alert) sends.push(this.alertOn(s));
      if (alert.event_type === 'sound' && alert.label && alert.sound) {
        // the sound event entity: event_type is the sound id (one of the camera's sounds)
        const payload = { event_type: alert.label, event_id: alert.event_id, alert: alert.alert, severity: alert.severity, source: alert.source, ...alert.sound };
        sends.push(mqtt.publishAsync(s.topics.sound, JSON.stringify(payload), { qos: 1 }));
      }
    }
    await Promise.all(sends);
  }

  /** HA restarted: its entities need their states again (the event entity is not replayed). */
  private async republish(): Promise<void> {
    const mqtt = this.ctx.mqtt;
    for (const s of this.cameras.values()) {
      if (s.resultText) mqtt.publish(s.topics.result, s.resultText, { retain: true, qos: 1 });
      if (s.image) mqtt.publish(s.topics.image, s.image, { retain: true, qos: 0 });
      mqtt.publish(s.topics.alert, s.alertOn ? 'ON' : 'OFF', { retain: true, qos: 1 });
    }
    await Promise.resolve();
  }
}
