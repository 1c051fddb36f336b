import type { Logger } from '../log/logger.js';
import type { MqttBridge } from '../mqtt/client.js';
import type { ErrorReport } from './results.js';
import { errorMessage } from './errors.js';
import type { Metrics } from './metrics.js';

const MAX_ERROR_CHARS = 1_000;

/**
 * Every rejected input or failure goes through here: logged with its source, published on
 * `<base>/error` (not retained), counted, and kept as the bridge's "last error".
 */
export class ErrorReporter {
  last?: ErrorReport;
  readonly recent: ErrorReport[] = [];
  private readonly listeners: ((r: ErrorReport) => void)[] = [];

  constructor(
    private readonly mqtt: MqttBridge,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  onReport(fn: (r: ErrorReport) => void): void {
    this.listeners.push(fn);
  }

  report(source: string, topic: string, err: unknown): ErrorReport {
    const report: ErrorReport = { source, topic, error: errorMessage(err).slice(0, MAX_ERROR_CHARS), ts: new Date().toISOString() };
    this.log.warn({ module: source, topic, error: report.error }, 'input rejected or failed');
    this.metrics.errors.inc({ source });
    this.last = report;
    this.recent.unshift(report);
    if (this.recent.length > 50) this.recent.pop();
    this.mqtt.publish(this.mqtt.topic('error'), JSON.stringify(report), { qos: 1, retain: false });
    for (const fn of this.listeners) {
      try {
        fn(report);
      } catch (e) {
        this.log.error({ module: 'errors', err: e }, 'error listener failed');
      }
    }
    return report;
  }
}
