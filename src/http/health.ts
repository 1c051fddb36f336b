import type { Metrics } from '../core/metrics.js';
import type { MqttBridge } from '../mqtt/client.js';
import { sendJson, sendText } from './respond.js';
import type { HttpServer } from './server.js';

/** /healthz: 200 while MQTT is connected, else 503 (the Dockerfile HEALTHCHECK uses it). */
export function registerHealthRoutes(http: HttpServer, mqtt: MqttBridge, metrics: Metrics, version: string): void {
  http.route(
    'GET',
    '/healthz',
    ({ res }) => sendJson(res, mqtt.connected ? 200 : 503, { status: mqtt.connected ? 'ok' : 'mqtt disconnected', mqtt: mqtt.connected, version }),
    { public: true },
  );
  http.route('GET', '/metrics', async ({ res }) => sendText(res, 200, await metrics.text(), metrics.registry.contentType), { public: true });
}
