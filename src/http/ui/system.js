/* global document, setTimeout, clearTimeout */
// System page: bridge status, memory budget, models, queues, backend health, recent errors.
import { api, duration, h, title, when } from './dom.js';

const REFRESH_MS = 10_000;
const PULL_REFRESH_MS = 2_000; // while model files download, so bytes/%/ETA move
const ROLE_NAMES = { tts: 'TTS', stt: 'STT', omni: 'Omni' };
const roleName = (r) => ROLE_NAMES[r] || title(r);

const MB = 1_048_576;
const mb = (b) => `${(b / MB).toFixed(b >= 100 * MB ? 0 : 1)} MB`;
const fileName = (f) => String(f || '').split('/').pop();

// The start-up model pull: bytes, %, ETA and the file now; or what failed; or the "no models yet" item.
function downloadsCard(d, notice) {
  if (!d && !notice) return null;
  const parts = [h('h2', { id: 'sys-downloads' }, 'Model files')];
  if (notice) parts.push(h('p', { class: 'notice', role: 'status' }, notice));
  if (d && d.state === 'pulling') {
    const pct = d.percent ?? 0;
    const fill = h('span');
    fill.style.width = `${pct}%`;
    parts.push(
      h('p', {}, `Downloading ${d.files_done + 1} of ${d.files_total}: ${fileName(d.current?.file) || '…'}`),
      h('div', { class: 'bar', role: 'progressbar', 'aria-label': 'Model download', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct }, fill),
      h('p', { class: 'meta' },
        `${mb(d.received_bytes)}${d.total_bytes ? ` of ${mb(d.total_bytes)}` : ''}`,
        d.percent !== undefined ? ` · ${d.percent}%` : '',
        d.rate_bps ? ` · ${mb(d.rate_bps)}/s` : '',
        d.eta_s !== undefined ? ` · about ${duration(d.eta_s)} left` : ''),
    );
  } else if (d && d.state === 'done') {
    parts.push(h('p', { class: 'meta' }, `${d.files_done} model file(s) downloaded (${mb(d.received_bytes)}), sha256-checked.`));
  } else if (d && (d.state === 'failed' || d.state === 'no_route')) {
    parts.push(
      h('p', {}, d.state === 'no_route' ? 'The model hub could not be reached. Place the files yourself (the log lists where) or set HF_ENDPOINT to a mirror.' : `${d.failed.length} model file(s) could not be downloaded.`),
      h('ul', { class: 'errors' }, (d.failed || []).map((f) => h('li', {}, h('code', {}, fileName(f.file)), h('div', {}, f.error)))),
    );
  }
  return h('section', { class: 'card wide', 'aria-labelledby': 'sys-downloads' }, ...parts);
}

function stat(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

export function initSystem() {
  const root = document.getElementById('system');
  let timer = null;
  let last = null;

  function render(s) {
    last = s;
    const used = s.models_loaded_mb || 0;
    const pct = s.budget_mb ? Math.min(100, Math.round((used / s.budget_mb) * 100)) : 0;
    const models = s.models || [];
    const queues = Object.entries(s.queues || {});
    const errors = s.errors || [];
    const fill = h('span');
    fill.style.width = `${pct}%`; // CSSOM, not a style attribute: the CSP forbids inline styles
    root.replaceChildren(
      ...[downloadsCard(s.downloads, s.models_notice)].filter(Boolean),
      h('section', { class: 'card', 'aria-labelledby': 'sys-bridge' },
        h('h2', { id: 'sys-bridge' }, 'Bridge'),
        h('dl', { class: 'stats' },
          stat('Status', h('span', { class: `state ${s.status === 'online' ? 'ok' : 'down'}` }, s.status === 'online' ? 'Online' : 'Offline')),
          stat('Version', s.version || '–'),
          stat('Uptime', duration(s.uptime_s)),
          stat('Process memory', `${s.memory_mb ?? '–'} MB`),
          stat('MQTT', s.mqtt?.connected ? 'Connected' : 'Disconnected'),
          stat('Queue', String(s.queue_depth ?? 0)))),
      h('section', { class: 'card', 'aria-labelledby': 'sys-memory' },
        h('h2', { id: 'sys-memory' }, 'Memory budget'),
        h('p', {}, `${used.toLocaleString()} MB of ${Number(s.budget_mb).toLocaleString()} MB used by loaded models`),
        h('div', { class: `bar${used > s.budget_mb ? ' over' : ''}`, role: 'meter', 'aria-label': 'Model memory', 'aria-valuemin': 0, 'aria-valuemax': s.budget_mb, 'aria-valuenow': used },
          fill),
        h('p', { class: 'meta' }, `${pct}% of the budget · hard limit ${Number(s.hard_limit_mb).toLocaleString()} MB`),
        h('ul', { class: 'loaded-list', 'aria-label': 'Loaded models' },
          models.filter((m) => m.loaded).map((m) => h('li', {}, h('span', {}, `${m.name} (${roleName(m.role)})`), h('span', {}, `${m.memory_mb.toLocaleString()} MB`))),
          models.filter((m) => !m.loaded && m.enabled).map((m) => h('li', {}, h('span', {}, `${m.name} (${roleName(m.role)})`), h('span', {}, 'not loaded')))),
        queues.length
          ? h('table', {}, h('caption', { class: 'meta' }, 'Queues'), h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', { class: 'num' }, 'Waiting'))),
              h('tbody', {}, queues.map(([k, v]) => h('tr', {}, h('td', {}, title(k)), h('td', { class: 'num' }, String(typeof v === 'object' ? JSON.stringify(v) : v))))))
          : null),
      h('section', { class: 'card wide', 'aria-labelledby': 'sys-models' },
        h('h2', { id: 'sys-models' }, 'Models'),
        models.length
          ? h('div', { class: 'table-wrap' }, h('table', {},
              h('thead', {}, h('tr', {}, h('th', {}, 'Role'), h('th', {}, 'Model'), h('th', {}, 'Backend'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Memory'))),
              h('tbody', {}, models.map((m) => h('tr', {},
                h('td', {}, roleName(m.role)),
                h('td', {}, m.name, m.problem ? h('div', { class: 'meta' }, m.problem) : null),
                h('td', {}, m.backend),
                h('td', {}, h('span', { class: `state ${m.state}` }, m.loaded ? 'Loaded' : title(m.state))),
                h('td', { class: 'num' }, m.memory_mb ? `${m.memory_mb.toLocaleString()} MB` : '–'))))))
          : h('p', { class: 'meta' }, 'No models configured.')),
      h('section', { class: 'card wide', 'aria-labelledby': 'sys-errors' },
        h('h2', { id: 'sys-errors' }, 'Recent errors'),
        errors.length
          ? h('ul', { class: 'errors' }, errors.map((e) => h('li', {}, h('span', { class: 'src' }, e.source), ` · ${when(e.ts)} · `, h('code', {}, e.topic), h('div', {}, e.error))))
          : h('p', { class: 'meta' }, 'No errors. Everything SARAi was given, it could handle.')),
    );
  }

  let shown = false;
  async function load() {
    let pulling = false;
    try {
      const s = await api('api/system');
      pulling = s.downloads?.state === 'pulling';
      render(s);
    } catch (err) {
      root.replaceChildren(h('p', { class: 'card' }, `Could not load the system status: ${err.message}`));
    }
    if (shown) timer = setTimeout(load, pulling ? PULL_REFRESH_MS : REFRESH_MS);
  }

  return {
    show() {
      if (shown) return;
      shown = true;
      load();
    },
    hide() {
      shown = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    onError(e) {
      if (!last) return;
      last.errors = [e, ...(last.errors || [])].slice(0, 20);
      if (!root.closest('[hidden]')) render(last);
    },
  };
}
