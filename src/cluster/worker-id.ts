import os from 'node:os';
import type { Config } from '../config/schema/index.js';

/** cluster.worker_id, or `<hostname>_<pid>` cleaned to `[a-z0-9_]` (it names a topic level). */
export function workerIdOf(config: Config, hostname = os.hostname(), pid = process.pid): string {
  if (config.cluster.worker_id) return config.cluster.worker_id;
  const host = hostname.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40) || 'worker';
  return `${host}_${pid}`;
}
