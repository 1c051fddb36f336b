import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per bridge instance (tests run several in one process). Other
 * modules add their own metrics to `registry` with the `sarai_` prefix.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'kind'>;
  readonly messagesOut: Counter<'kind'>;
  readonly errors: Counter<'source'>;
  readonly queueDepth: Gauge<'queue'>;
  readonly mqttConnected: Gauge;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'sarai_' });
    const registers = [this.registry];
    this.messagesIn = new Counter({ name: 'sarai_messages_in_total', help: 'MQTT messages received, by kind', labelNames: ['kind'], registers });
    this.messagesOut = new Counter({ name: 'sarai_messages_out_total', help: 'MQTT messages published, by kind', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'sarai_errors_total', help: 'Rejected inputs and failures, by source', labelNames: ['source'], registers });
    this.queueDepth = new Gauge({ name: 'sarai_queue_depth', help: 'Jobs waiting, by queue', labelNames: ['queue'], registers });
    this.mqttConnected = new Gauge({ name: 'sarai_mqtt_connected', help: '1 when connected to the broker', registers });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
