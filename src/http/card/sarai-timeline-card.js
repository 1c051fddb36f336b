/* global document, window, customElements, HTMLElement, CustomEvent, fetch, setTimeout, clearTimeout */
/**
 * sarai-timeline-card: SARAi's camera timeline (and an "ask" mode) on any Home Assistant
 * dashboard. One plain ES module: custom elements + shadow DOM, no framework, no build.
 *
 * Where the events come from, without polling:
 * - each camera's summary sensor carries the result JSON as attributes (id, camera, summary,
 *   description, objects, severity, alert, ts, and `changed` when camera memory is on);
 *   the `hass` setter sees every new state object and turns new result ids into events;
 * - once, on first `hass`, past results come from HA's recorder
 *   (`history/history_during_period`, attributes included);
 * - images come from HA's own image entity proxy (`entity_picture`,
 *   `/api/image_proxy/<entity_id>?token=<access_token>`): HA authorizes them, so they load for
 *   every user and the add-on's port is never exposed. The proxy only has the newest image, so
 *   the card keeps a copy (blob URL) of each image it sees arrive, for the events it saw live.
 * Every text from an event is set with textContent: a summary is never parsed as HTML.
 */

const MAX_EVENTS = 200;
const HISTORY_HOURS = 24;
const ANSWER_TIMEOUT_MS = 120_000;
const SEVERITY = {
  high: 'var(--error-color, #db4437)',
  medium: 'var(--warning-color, #ffa600)',
  low: 'var(--info-color, #039be5)',
  none: 'var(--success-color, #43a047)',
};

/** A small element builder: children are nodes or strings (always text, never HTML). */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'style') node.style.cssText = v;
    else if (k in node && k !== 'list') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c);
  return node;
}

/** A result from a summary sensor's attributes, or undefined when they are not one. */
export /** Camera memory's `changed` ({new, left, text} from SARAi; a plain string or list also read) as one line. */
function changedText(c) {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.filter((x) => typeof x === 'string').join('; ');
  if (!c || typeof c !== 'object') return '';
  if (typeof c.text === 'string' && c.text) return c.text;
  const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);
  const parts = [];
  if (list(c.new).length) parts.push(`new: ${list(c.new).join(', ')}`);
  if (list(c.left).length) parts.push(`gone: ${list(c.left).join(', ')}`);
  return parts.join('; ');
}

function eventFromAttributes(a) {
  if (!a || typeof a.id !== 'string' || typeof a.camera !== 'string' || typeof a.summary !== 'string') return undefined;
  return {
    id: a.id,
    camera: a.camera,
    summary: a.summary,
    description: typeof a.description === 'string' ? a.description : '',
    objects: Array.isArray(a.objects) ? a.objects.filter((o) => typeof o === 'string') : [],
    severity: a.severity in SEVERITY ? a.severity : 'none',
    alert: a.alert === true,
    ts: typeof a.ts === 'string' ? a.ts : '',
    changed: changedText(a.changed),
    image: undefined,
  };
}

/** Is this state a SARAi camera summary sensor? (its attributes are a result) */
function isSummarySensor(entityId, state) {
  return entityId.startsWith('sensor.') && eventFromAttributes(state.attributes) !== undefined;
}

/** The image entity on the same HA device as the summary sensor; by name when the registry is not given. */
function imageEntityFor(hass, sensorId) {
  const device = hass.entities?.[sensorId]?.device_id;
  if (device) {
    for (const [id, e] of Object.entries(hass.entities)) if (e.device_id === device && id.startsWith('image.')) return id;
  }
  const guess = sensorId.replace(/^sensor\./, 'image.').replace(/_description$/, '_last_described_image');
  return hass.states[guess] ? guess : undefined;
}

/** HA's proxy URL of an image entity: entity_picture, else built from its access_token. */
export function imageUrl(state) {
  if (!state) return undefined;
  const a = state.attributes ?? {};
  if (typeof a.entity_picture === 'string') return a.entity_picture;
  if (typeof a.access_token === 'string') return `/api/image_proxy/${state.entity_id}?token=${encodeURIComponent(a.access_token)}`;
  return undefined;
}

function timeText(ts, lang) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const sameDay = d.toDateString() === new Date().toDateString();
  return d.toLocaleString(lang, sameDay ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

const STYLE = `
  :host { display: block; }
  ha-card, .card { overflow: hidden; }
  .card { background: var(--ha-card-background, var(--card-background-color, #fff)); color: var(--primary-text-color, #212121);
    border-radius: var(--ha-card-border-radius, 12px); box-shadow: var(--ha-card-box-shadow, none);
    border: var(--ha-card-border-width, 1px) solid var(--divider-color, #e0e0e0); font-family: var(--paper-font-body1_-_font-family, inherit); }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; padding: 12px 16px 8px; }
  h2 { flex: 1 1 auto; margin: 0; font-size: 1.15em; font-weight: 500; }
  select, input[type=text], button { font: inherit; color: var(--primary-text-color, #212121); background: var(--secondary-background-color, #f5f5f5);
    border: 1px solid var(--divider-color, #e0e0e0); border-radius: 8px; padding: 6px 8px; min-height: 36px; }
  button { cursor: pointer; background: var(--primary-color, #03a9f4); color: var(--text-primary-color, #fff); border: none; padding: 6px 14px; }
  input[type=checkbox] { accent-color: var(--primary-color, #03a9f4); width: 18px; height: 18px; margin: 0; }
  label.toggle { display: inline-flex; align-items: center; gap: 4px; font-size: .9em; color: var(--secondary-text-color, #727272); }
  ul { list-style: none; margin: 0; padding: 0 8px 8px; }
  li { display: flex; gap: 10px; padding: 8px; border-radius: 8px; cursor: pointer; border-left: 4px solid var(--sev); margin-bottom: 6px;
    background: var(--secondary-background-color, #f5f5f5); }
  li:focus-visible { outline: 2px solid var(--primary-color, #03a9f4); }
  .thumb { flex: 0 0 88px; width: 88px; height: 66px; border-radius: 6px; object-fit: cover; background: var(--divider-color, #e0e0e0); }
  .body { flex: 1 1 auto; min-width: 0; }
  .meta { display: flex; gap: 6px; font-size: .8em; color: var(--secondary-text-color, #727272); flex-wrap: wrap; }
  .meta .sev { color: var(--sev); font-weight: 600; text-transform: uppercase; }
  .summary { margin: 2px 0; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
  .chips { display: flex; gap: 4px; flex-wrap: wrap; }
  .chip { font-size: .75em; padding: 1px 6px; border-radius: 10px; border: 1px solid var(--divider-color, #e0e0e0); color: var(--secondary-text-color, #727272); }
  .changed { font-size: .85em; font-style: italic; color: var(--primary-color, #03a9f4); margin: 2px 0; }
  .empty { padding: 8px 16px 16px; color: var(--secondary-text-color, #727272); }
  dialog { border: none; border-radius: 12px; padding: 0; max-width: min(720px, 96vw); width: 96vw; background: var(--card-background-color, #fff);
    color: var(--primary-text-color, #212121); }
  dialog::backdrop { background: rgba(0,0,0,.6); }
  dialog img { display: block; width: 100%; max-height: 70vh; object-fit: contain; background: #000; }
  dialog .text { padding: 12px 16px; }
  dialog .text p { white-space: pre-wrap; }
  dialog form { text-align: right; padding: 0 16px 12px; }
  .ask { display: flex; gap: 8px; padding: 0 16px 12px; }
  .ask input { flex: 1 1 auto; min-width: 0; }
  .answer { padding: 0 16px 16px; white-space: pre-wrap; }
  .answer.error { color: var(--error-color, #db4437); }
`;

class SaraiTimelineCard extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this._events = new Map(); // result id -> event
    this._sensors = new Map(); // summary sensor id -> image entity id
    this._cameraFilter = '';
    this._alertsOnly = false;
    this._history = false;
    this._ask = { id: '', text: '', answer: '', error: '', waiting: false };
  }

  static getStubConfig() {
    return { type: 'custom:sarai-timeline-card', title: 'Cameras', max_events: 20, alerts_only: false };
  }

  static getConfigElement() {
    return document.createElement('sarai-timeline-card-editor');
  }

  setConfig(config) {
    if (!config || typeof config !== 'object') throw new Error('sarai-timeline-card: the configuration must be a mapping');
    const mode = config.mode ?? 'timeline';
    if (mode !== 'timeline' && mode !== 'ask') throw new Error('sarai-timeline-card: mode must be "timeline" or "ask"');
    const max = config.max_events ?? 20;
    if (!Number.isInteger(max) || max < 1 || max > MAX_EVENTS) throw new Error(`sarai-timeline-card: max_events must be 1-${MAX_EVENTS}`);
    if (config.topic_prefix !== undefined && !/^[A-Za-z0-9_/-]+$/.test(config.topic_prefix)) throw new Error('sarai-timeline-card: topic_prefix may hold letters, digits, _ - /');
    this._config = { ...config, mode, max_events: max };
    this._cameraFilter = typeof config.camera === 'string' ? config.camera : '';
    this._alertsOnly = config.alerts_only === true;
    this._render();
  }

  getCardSize() {
    return this._config?.mode === 'ask' ? 3 : 1 + Math.min(this._visible().length, 5) * 2;
  }

  set hass(hass) {
    const prev = this._hass;
    this._hass = hass;
    let changed = !prev || prev.themes !== hass.themes;
    const images = [];
    for (const [id, state] of Object.entries(hass.states)) {
      if (prev && prev.states[id] === state) continue; // HA hands out a new object only when it changed
      if (isSummarySensor(id, state)) {
        if (!this._sensors.has(id)) this._sensors.set(id, imageEntityFor(hass, id));
        changed = this._addEvent(eventFromAttributes(state.attributes), id, Boolean(prev)) || changed;
      } else if (id.startsWith('image.') && prev?.states[id]) {
        images.push([id, state]); // after the results: SARAi publishes the result, then its image
      } else if (id === this._answerEntity() && this._ask.waiting) {
        changed = this._takeAnswer(state) || changed;
      }
    }
    for (const [id, state] of images) void this._keepImage(id, state);
    if (!this._history && this._sensors.size > 0 && this._config?.mode !== 'ask') void this._loadHistory();
    if (changed) this._render();
  }

  get hass() {
    return this._hass;
  }

  /** Adds an event once (by result id); true when it is new. */
  _addEvent(ev, sensorId, live = false) {
    if (!ev || this._events.has(ev.id)) return false;
    ev.sensor = sensorId;
    ev.live = live;
    this._events.set(ev.id, ev);
    if (this._events.size > MAX_EVENTS) {
      const oldest = [...this._events.values()].sort((a, b) => a.ts.localeCompare(b.ts)).slice(0, this._events.size - MAX_EVENTS);
      for (const o of oldest) {
        if (o.image?.startsWith('blob:')) URL.revokeObjectURL(o.image);
        this._events.delete(o.id);
      }
    }
    return true;
  }

  /** A new image arrived on a camera's image entity: keep a copy for that camera's newest event. */
  async _keepImage(imageId, state) {
    const url = imageUrl(state);
    const sensor = [...this._sensors].find(([, img]) => img === imageId)?.[0];
    if (!url || !sensor) return;
    const ev = this._newest(sensor);
    if (!ev || !ev.live || ev.image) return; // only an event seen arriving owns the next image
    ev.image = url;
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      ev.image = URL.createObjectURL(await res.blob());
      this._render();
    } catch {
      ev.image = undefined; // the live proxy URL still shows the newest image
    }
  }

  _newest(sensorId) {
    let best;
    for (const ev of this._events.values()) if (ev.sensor === sensorId && (!best || ev.ts > best.ts)) best = ev;
    return best;
  }

  /** Past results from HA's recorder, once (attribute changes included: each result is one). */
  async _loadHistory() {
    this._history = true;
    const hass = this._hass;
    if (typeof hass.callWS !== 'function') return;
    const start = new Date(Date.now() - HISTORY_HOURS * 3600_000).toISOString();
    try {
      const byEntity = await hass.callWS({
        type: 'history/history_during_period', start_time: start, entity_ids: [...this._sensors.keys()],
        minimal_response: false, no_attributes: false, significant_changes_only: false,
      });
      let added = false;
      for (const [id, states] of Object.entries(byEntity ?? {})) {
        for (const s of Array.isArray(states) ? states : []) added = this._addEvent(eventFromAttributes(s.a ?? s.attributes), id) || added;
      }
      if (added) this._render();
    } catch (err) {
      console.warn('sarai-timeline-card: no history from Home Assistant:', err?.message ?? err);
    }
  }

  _cameras() {
    return [...new Set([...this._events.values()].map((e) => e.camera))].sort();
  }

  _visible() {
    const c = this._config ?? {};
    return [...this._events.values()]
      .filter((e) => (!this._cameraFilter || e.camera === this._cameraFilter) && (!this._alertsOnly || e.alert))
      .filter((e) => !Array.isArray(c.cameras) || c.cameras.length === 0 || c.cameras.includes(e.camera))
      .sort((a, b) => b.ts.localeCompare(a.ts))
      .slice(0, c.max_events ?? 20);
  }

  /** The image for an event: its kept copy, else the live proxy URL when it is the camera's newest. */
  _imageFor(ev) {
    if (ev.image) return ev.image;
    if (this._newest(ev.sensor) !== ev) return undefined;
    const img = this._sensors.get(ev.sensor);
    return img ? imageUrl(this._hass.states[img]) : undefined;
  }

  _render() {
    if (!this._config || !this._hass) return;
    const root = this.shadowRoot;
    this.style.colorScheme = this._hass.themes?.darkMode ? 'dark' : 'light'; // native controls follow HA's theme
    const content = this._config.mode === 'ask' ? this._renderAsk() : this._renderTimeline();
    root.replaceChildren(h('style', {}, STYLE), h('div', { className: 'card' }, content));
  }

  _renderTimeline() {
    const lang = this._hass.locale?.language ?? this._hass.language;
    const cams = this._cameras();
    const header = h('header', {},
      h('h2', {}, this._config.title ?? 'Cameras'),
      cams.length > 1 && h('select', { 'aria-label': 'Camera', onchange: (e) => { this._cameraFilter = e.target.value; this._render(); } },
        h('option', { value: '', selected: !this._cameraFilter }, 'All cameras'),
        cams.map((c) => h('option', { value: c, selected: c === this._cameraFilter }, c.replace(/_/g, ' ')))),
      h('label', { className: 'toggle' },
        h('input', { type: 'checkbox', checked: this._alertsOnly, onchange: (e) => { this._alertsOnly = e.target.checked; this._render(); } }),
        'Alerts only'));
    const events = this._visible();
    if (events.length === 0) return [header, h('div', { className: 'empty' }, this._events.size ? 'No events match the filter.' : 'No camera events yet.')];
    const list = h('ul', {}, events.map((ev) => {
      const src = this._imageFor(ev);
      const open = () => this._open(ev);
      return h('li', { tabIndex: 0, style: `--sev: ${SEVERITY[ev.severity]}`, 'data-id': ev.id, onclick: open, onkeydown: (e) => e.key === 'Enter' && open() },
        src ? h('img', { className: 'thumb', src, alt: '', loading: 'lazy' }) : h('div', { className: 'thumb' }),
        h('div', { className: 'body' },
          h('div', { className: 'meta' }, h('span', { className: 'sev' }, ev.alert ? `${ev.severity} · alert` : ev.severity),
            h('span', {}, ev.camera.replace(/_/g, ' ')), h('span', {}, timeText(ev.ts, lang))),
          h('div', { className: 'summary' }, ev.summary),
          ev.changed && h('div', { className: 'changed' }, `Changed: ${ev.changed}`),
          h('div', { className: 'chips' }, ev.objects.slice(0, 6).map((o) => h('span', { className: 'chip' }, o)))));
    }));
    return [header, list];
  }

  /** The tap: full description and the larger image in a dialog. */
  _open(ev) {
    const src = this._imageFor(ev);
    const lang = this._hass.locale?.language ?? this._hass.language;
    const dialog = h('dialog', { onclose: () => dialog.remove(), onclick: (e) => e.target === dialog && dialog.close() },
      src && h('img', { src, alt: ev.summary }),
      h('div', { className: 'text' },
        h('div', { className: 'meta', style: `--sev: ${SEVERITY[ev.severity]}` }, h('span', { className: 'sev' }, ev.severity),
          h('span', {}, ev.camera.replace(/_/g, ' ')), h('span', {}, timeText(ev.ts, lang))),
        h('h3', {}, ev.summary),
        ev.changed && h('div', { className: 'changed' }, `Changed: ${ev.changed}`),
        h('p', {}, ev.description || ev.summary),
        h('div', { className: 'chips' }, ev.objects.map((o) => h('span', { className: 'chip' }, o)))),
      h('form', { method: 'dialog' }, h('button', {}, 'Close')));
    this.shadowRoot.append(dialog);
    dialog.showModal();
  }

  // ---- ask mode: mqtt.publish to <prefix>/ask, the answer from the "Last answer" sensor ----

  _prefix() {
    return this._config.topic_prefix ?? 'sarai';
  }

  /** The configured answer sensor, else the one whose attributes look like a sarai/answer. */
  _answerEntity() {
    if (this._config?.answer_entity) return this._config.answer_entity;
    if (!this._hass) return undefined;
    return Object.keys(this._hass.states).find((id) => {
      const a = this._hass.states[id].attributes ?? {};
      return id.startsWith('sensor.') && typeof a.route_reason === 'string' && typeof a.tokens === 'number' && 'text' in a;
    });
  }

  _takeAnswer(state) {
    const a = state.attributes ?? {};
    if (a.id !== this._ask.id) return false;
    clearTimeout(this._ask.timer);
    this._ask = { ...this._ask, waiting: false, answer: typeof a.text === 'string' ? a.text : '', error: typeof a.error === 'string' ? a.error : '' };
    return true;
  }

  async _sendQuestion(text) {
    const question = text.trim();
    if (!question || this._ask.waiting) return;
    const id = `card-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const timer = setTimeout(() => {
      if (this._ask.id !== id || !this._ask.waiting) return;
      this._ask = { ...this._ask, waiting: false, error: 'No answer yet: is the SARAi add-on running?' };
      this._render();
    }, ANSWER_TIMEOUT_MS);
    this._ask = { id, text: question, answer: '', error: '', waiting: true, timer };
    this._render();
    try {
      await this._hass.callService('mqtt', 'publish', { topic: `${this._prefix()}/ask`, payload: JSON.stringify({ text: question, id }) });
    } catch (err) {
      clearTimeout(timer);
      this._ask = { ...this._ask, waiting: false, error: `Could not send the question: ${err?.message ?? err}` };
      this._render();
    }
  }

  _renderAsk() {
    const input = h('input', { type: 'text', placeholder: 'Ask SARAi…', value: this._ask.text, 'aria-label': 'Question', maxLength: 8000 });
    const send = () => void this._sendQuestion(input.value);
    input.addEventListener('keydown', (e) => e.key === 'Enter' && send());
    const a = this._ask;
    const answer = a.waiting ? h('div', { className: 'answer' }, 'Thinking…')
      : a.error ? h('div', { className: 'answer error' }, a.error)
      : a.answer ? h('div', { className: 'answer' }, a.answer) : undefined;
    return [h('header', {}, h('h2', {}, this._config.title ?? 'Ask SARAi')),
      h('div', { className: 'ask' }, input, h('button', { onclick: send, disabled: a.waiting }, 'Ask')), answer];
  }
}

/** The visual editor: title, mode, camera, alerts only, number of events. */
class SaraiTimelineCardEditor extends HTMLElement {
  setConfig(config) {
    this._config = { ...config };
    this._render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) this._render();
  }

  _set(key, value) {
    const config = { ...this._config };
    if (value === '' || value === false || value === undefined) delete config[key];
    else config[key] = value;
    this._config = config;
    this.dispatchEvent(new CustomEvent('config-changed', { detail: { config }, bubbles: true, composed: true }));
  }

  _render() {
    if (!this._config) return;
    if (!this.shadowRoot) this.attachShadow({ mode: 'open' });
    const c = this._config;
    const cams = this._hass ? [...new Set(Object.values(this._hass.states).map((s) => eventFromAttributes(s.attributes)?.camera).filter(Boolean))].sort() : [];
    const row = (label, input) => h('label', { style: 'display:flex;justify-content:space-between;gap:8px;margin:8px 0;align-items:center' }, label, input);
    this.shadowRoot.replaceChildren(
      row('Title', h('input', { type: 'text', value: c.title ?? '', onchange: (e) => this._set('title', e.target.value) })),
      row('Mode', h('select', { onchange: (e) => this._set('mode', e.target.value === 'timeline' ? '' : e.target.value) },
        ['timeline', 'ask'].map((m) => h('option', { value: m, selected: (c.mode ?? 'timeline') === m }, m)))),
      row('Camera', h('select', { onchange: (e) => this._set('camera', e.target.value) },
        h('option', { value: '' }, 'All cameras'), cams.map((m) => h('option', { value: m, selected: c.camera === m }, m)))),
      row('Alerts only', h('input', { type: 'checkbox', checked: c.alerts_only === true, onchange: (e) => this._set('alerts_only', e.target.checked) })),
      row('Events shown', h('input', { type: 'number', min: 1, max: MAX_EVENTS, value: c.max_events ?? 20, onchange: (e) => this._set('max_events', Number(e.target.value)) })));
  }
}

if (!customElements.get('sarai-timeline-card')) customElements.define('sarai-timeline-card', SaraiTimelineCard);
if (!customElements.get('sarai-timeline-card-editor')) customElements.define('sarai-timeline-card-editor', SaraiTimelineCardEditor);
window.customCards = window.customCards ?? [];
if (!window.customCards.some((c) => c.type === 'sarai-timeline-card')) {
  window.customCards.push({ type: 'sarai-timeline-card', name: 'SARAi timeline', description: 'Camera events described by SARAi, live; and an ask box.', preview: true });
}
