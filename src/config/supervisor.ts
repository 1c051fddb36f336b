import type { Logger } from '../log/logger.js';
import type { Config } from './schema/index.js';

/** What the Supervisor answers on GET /services/mqtt (the Mosquitto add-on's broker). */
interface MqttService {
  host: string;
  port: number;
  ssl?: boolean;
  username?: string;
  password?: string;
}

/**
 * As a Home Assistant add-on: when the user gave no broker, ask the Supervisor for the MQTT
 * service (`services: ["mqtt:need"]` in the manifest grants it), and talk to Core through the
 * Supervisor proxy with the add-on's own token when no HA URL/token is configured.
 */
export async function applySupervisorServices(config: Config, env: NodeJS.ProcessEnv, log: Logger): Promise<void> {
  const token = env['SUPERVISOR_TOKEN'];
  if (!token) return;
  const base = env['SUPERVISOR_URL'] ?? 'http://supervisor';
  if (!config.homeassistant.url) {
    config.homeassistant.url = `${base}/core`;
    if (!config.homeassistant.token) config.homeassistant.token = token;
  }
  if (config.mqtt.url) return;
  try {
    const res = await fetch(`${base}/services/mqtt`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { data?: MqttService };
    const svc = body.data;
    if (!svc?.host || !svc.port) throw new Error('no MQTT service in the answer');
    const host = svc.host.includes(':') ? `[${svc.host}]` : svc.host;
    config.mqtt.url = `${svc.ssl ? 'mqtts' : 'mqtt'}://${host}:${svc.port}`;
    config.mqtt.username = svc.username ?? '';
    config.mqtt.password = svc.password ?? '';
    log.info({ module: 'supervisor', host: svc.host, port: svc.port }, 'using the MQTT broker provided by the Supervisor');
  } catch (err) {
    log.warn({ module: 'supervisor', err: (err as Error).message }, 'no MQTT service from the Supervisor; starting the embedded broker');
  }
}
