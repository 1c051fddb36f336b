import os from 'node:os';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../log/logger.js';

export interface AnnounceOptions {
  /** The add-on's token (env SUPERVISOR_TOKEN); absent: not running as an add-on, nothing to do. */
  token?: string;
  /** Default http://supervisor (env SUPERVISOR_URL overrides, for tests). */
  supervisorUrl?: string;
  /** Host HA reaches us at; default this container's hostname (the add-on's DNS name). */
  host?: string;
  port: number;
  log: Logger;
  timeoutMs?: number;
}

/**
 * Tells the Supervisor that this add-on offers a Wyoming service (`discovery: [wyoming]` in
 * config.yaml allows it), so Home Assistant offers to set up the Wyoming integration with our
 * URI. Returns the discovery uuid, or undefined when not an add-on or the call failed (logged;
 * the user can still add the integration by hand).
 */
export async function announceWyoming(o: AnnounceOptions): Promise<string | undefined> {
  if (!o.token) return undefined;
  const host = o.host || os.hostname();
  const uri = `tcp://${host.includes(':') ? `[${host}]` : host}:${o.port}`;
  const base = (o.supervisorUrl || 'http://supervisor').replace(/\/+$/, '');
  try {
    const res = await fetch(`${base}/discovery`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'wyoming', config: { uri } }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { data?: { uuid?: string } };
    o.log.info({ module: 'wyoming', uri }, 'announced the Wyoming service to Home Assistant');
    return body.data?.uuid ?? '';
  } catch (err) {
    o.log.warn({ module: 'wyoming', uri, err: errorMessage(err) }, 'could not announce the Wyoming service to the Supervisor');
    return undefined;
  }
}
