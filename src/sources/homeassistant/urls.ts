import { InputError } from '../../core/errors.js';

export interface HaUrls {
  /** ws(s)://.../api/websocket (or .../core/websocket through the Supervisor proxy). */
  websocket: string;
  /** http(s)://.../api (REST base). */
  api: string;
}

/**
 * Endpoints from `homeassistant.url`: a Core URL (`http://homeassistant.local:8123`) or the
 * Supervisor proxy (`http://supervisor/core`, whose websocket is `/core/websocket`).
 */
export function haUrls(base: string): HaUrls {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new InputError(`homeassistant.url ${JSON.stringify(base)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError('homeassistant.url must start with http:// or https://');
  const root = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  const wsRoot = root.replace(/^http/, 'ws');
  const supervisor = /\/core$/.test(u.pathname.replace(/\/+$/, ''));
  return { websocket: supervisor ? `${wsRoot}/websocket` : `${wsRoot}/api/websocket`, api: `${root}/api` };
}
