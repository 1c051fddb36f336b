/* global document, fetch */
// Small DOM and API helpers. Text always goes in through textContent, never as HTML.
const Node = globalThis.Node;

/** h('p', {class: 'x'}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/**
 * URLs from the API may be absolute paths (`/api/...`) or full URLs (TTS audio carries the
 * bridge's LAN address for media players). Under Home Assistant ingress only relative URLs
 * reach this server (and an http LAN URL inside an https HA page would be blocked), so the
 * bridge's own media and API paths are made relative.
 */
export function rel(url) {
  if (!url) return '';
  if (/^[a-z]+:\/\//i.test(url)) {
    const u = new URL(url);
    if (u.origin === globalThis.location.origin || /^\/(api|media)\//.test(u.pathname)) return u.pathname.replace(/^\/+/, '') + u.search;
    return url;
  }
  return url.replace(/^\/+/, '');
}

export class ApiError extends Error {}

/** fetch a relative API path; throws ApiError with the server's message on 4xx/5xx. */
export async function api(path, opts = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...opts });
  const type = res.headers.get('content-type') || '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError((body && body.error) || `HTTP ${res.status}`);
  return body;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

/** "Today 14:03:12", "Yesterday 09:00:01", "Tue 3 Nov 10:00:00" */
export function when(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date();
  const y = new Date(today);
  y.setDate(today.getDate() - 1);
  const day = d.toDateString() === today.toDateString() ? 'Today' : d.toDateString() === y.toDateString() ? 'Yesterday' : dateFmt.format(d);
  return `${day} ${timeFmt.format(d)}`;
}

export function ms(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  return n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

export function duration(s) {
  if (typeof s !== 'number') return '–';
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hh} h`;
  if (hh) return `${hh} h ${mm} min`;
  return mm ? `${mm} min` : `${Math.floor(s)} s`;
}

/** front_door -> Front door */
export function title(id) {
  const s = String(id || '').replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
