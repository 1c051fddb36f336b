import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/schema/index.js';
import type { MqttOptions } from './client.js';

/**
 * The client id when `mqtt.client_id` is empty: stable across restarts of one installation
 * (same host, same data_dir), so an external broker can resume its persistent session, and
 * different for two instances on one host, so they never take each other's session over.
 */
export function defaultClientId(baseTopic: string, dataDir: string): string {
  const h = createHash('sha256').update(`${os.hostname()}\0${path.resolve(dataDir)}`).digest('hex').slice(0, 10);
  return `sarai_${baseTopic.replace(/\W/g, '_')}_${h}`;
}

/**
 * What `MqttBridge` needs beyond the URL: the client id, the session (persistent on an external
 * broker outside cluster mode; the embedded broker lives and dies with us, so a clean one there) and the TLS files,
 * read now so a missing file is a configuration error naming it, not a failed connect later.
 */
export function connectionOptions(
  mqtt: Config['mqtt'],
  dataDir: string,
  configSource: string,
  baseDir: string,
  clustered = false,
): Pick<MqttOptions, 'clientId' | 'sessionExpiryS' | 'tls'> {
  const external = !!mqtt.url;
  // Cluster mode: brokers may route a shared subscription's messages to a member that is away
  // but keeps its session (and hold them there until it comes back, or the session expires);
  // a clean session lets the group's connected workers take everything instead.
  const persistent = external && !clustered;
  const read = (key: 'ca_file' | 'cert_file' | 'key_file'): Buffer | undefined => {
    const file = mqtt[key];
    if (!file) return undefined;
    const full = path.isAbsolute(file) ? file : path.resolve(baseDir, file);
    try {
      return readFileSync(full);
    } catch (err) {
      throw new ConfigError(configSource, [`mqtt.${key}: cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
  };
  const ca = read('ca_file');
  const cert = read('cert_file');
  const key = read('key_file');
  if (!!cert !== !!key) throw new ConfigError(configSource, ['mqtt.cert_file: a client certificate needs both cert_file and key_file']);
  const tls = ca || cert || !mqtt.reject_unauthorized ? { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), rejectUnauthorized: mqtt.reject_unauthorized } : undefined;
  return {
    clientId: mqtt.client_id || defaultClientId(mqtt.base_topic, dataDir),
    sessionExpiryS: persistent ? mqtt.session_expiry_s : 0,
    ...(tls ? { tls } : {}),
  };
}
