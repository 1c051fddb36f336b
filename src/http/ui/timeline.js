/* global document, setTimeout, URLSearchParams */
// Timeline page: one card per camera result, newest first; filters; live updates; paging.
import { api, h, ms, rel, title, when } from './dom.js';

const PAGE = 50;
const SEVERITY = { high: 'High', medium: 'Medium', low: 'Low', none: 'Info' };

export function initTimeline() {
  const list = document.getElementById('timeline');
  const status = document.getElementById('timeline-status');
  const more = document.getElementById('timeline-more');
  const fCamera = document.getElementById('f-camera');
  const fDay = document.getElementById('f-day');
  const fAlerts = document.getElementById('f-alerts');
  const viewer = document.getElementById('viewer');
  const seen = new Set();
  const cameras = new Set();
  let nextBefore = null;
  let loading = 0;

  function addCamera(id) {
    if (!id || cameras.has(id)) return;
    cameras.add(id);
    const opts = [...cameras].sort();
    const keep = fCamera.value;
    fCamera.replaceChildren(h('option', { value: '' }, 'All cameras'), ...opts.map((c) => h('option', { value: c }, title(c))));
    fCamera.value = keep;
  }

  /** since/until (ISO) of the chosen local day */
  function dayRange() {
    if (!fDay.value) return null;
    const [y, m, d] = fDay.value.split('-').map(Number);
    const since = new Date(y, m - 1, d);
    const until = new Date(y, m - 1, d + 1);
    return { since: since.toISOString(), until: until.toISOString() };
  }

  function matches(ev) {
    if (fCamera.value && ev.camera !== fCamera.value) return false;
    if (fAlerts.checked && !ev.alert) return false;
    const r = dayRange();
    if (r && (ev.ts < r.since || ev.ts >= r.until)) return false;
    return true;
  }

  function openViewer(ev, src) {
    const img = document.getElementById('viewer-img');
    img.src = src;
    img.alt = `Snapshot from ${title(ev.camera)}: ${ev.summary}`;
    document.getElementById('viewer-caption').textContent = `${title(ev.camera)} · ${when(ev.ts)} — ${ev.summary}`;
    viewer.showModal();
  }

  function card(ev, isNew) {
    const sev = SEVERITY[ev.severity] ? ev.severity : 'none';
    const src = ev.snapshot_url ? rel(ev.snapshot_url) : '';
    const thumb = src
      ? h('button', { class: 'thumb', type: 'button', 'aria-label': `Enlarge snapshot from ${title(ev.camera)}`, onclick: () => openViewer(ev, src) },
          h('img', { src, alt: `Snapshot from ${title(ev.camera)}`, loading: 'lazy', width: 320, height: 240 }))
      : h('div', { class: 'thumb none' }, 'No snapshot');
    const img = thumb.querySelector('img');
    // a live result can arrive a moment before its snapshot is stored: retry once
    if (img) img.addEventListener('error', () => { if (!img.dataset.retried) { img.dataset.retried = '1'; setTimeout(() => { img.src = `${src}${src.includes('?') ? '&' : '?'}r=1`; }, 1000); } });
    const objects = Array.isArray(ev.objects) ? ev.objects : [];
    const bits = [title(ev.camera), when(ev.ts)];
    if (ev.event_type && ev.event_type !== 'other') bits.push(title(ev.event_type));
    if (Array.isArray(ev.zones) && ev.zones.length) bits.push(ev.zones.map(title).join(', '));
    return h('li', { class: `card event${ev.alert ? ' alert' : ''}${isNew ? ' new' : ''}`, 'data-id': ev.id, 'data-camera': ev.camera },
      thumb,
      h('div', {},
        h('div', { class: 'head' },
          h('h3', {}, ev.summary || '(no summary)'),
          h('span', { class: `badge sev-${sev}` }, ev.alert ? `Alert · ${SEVERITY[sev]}` : SEVERITY[sev])),
        h('p', { class: 'meta' }, h('time', { datetime: ev.ts }, bits.join(' · '))),
        objects.length ? h('ul', { class: 'chips', 'aria-label': 'Objects' }, objects.map((o) => h('li', {}, o))) : null,
        ev.description && ev.description !== ev.summary ? h('details', {}, h('summary', {}, 'Description'), h('p', {}, ev.description)) : null,
        h('p', { class: 'route' },
          'Answered by ', h('code', {}, ev.model || '?'), ' via ', h('code', { title: ev.route_reason || '' }, ev.route || '?'),
          ev.latency_ms !== undefined ? ` in ${ms(ev.latency_ms)}` : '',
          ev.error ? ` — error: ${ev.error}` : '')));
  }

  function showEmpty() {
    if (!list.children.length) {
      const filtered = fCamera.value || fAlerts.checked || fDay.value;
      list.append(h('li', { class: 'card empty' }, filtered ? 'No events match these filters.' : 'No events yet. Camera snapshots show up here as soon as SARAi describes them.'));
    }
  }

  async function load(reset) {
    const token = ++loading;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (fCamera.value) q.set('camera', fCamera.value);
    if (fAlerts.checked) q.set('alerts', '1');
    const r = dayRange();
    if (r) { q.set('since', r.since); q.set('until', r.until); }
    if (!reset && nextBefore) q.set('before', String(nextBefore));
    status.textContent = 'Loading…';
    more.disabled = true;
    try {
      const body = await api(`api/events?${q}`);
      if (token !== loading) return;
      if (reset) { list.replaceChildren(); seen.clear(); }
      for (const ev of body.events || []) {
        addCamera(ev.camera);
        if (seen.has(ev.id)) continue;
        seen.add(ev.id);
        list.append(card(ev, false));
      }
      nextBefore = body.next_before ?? null;
      more.hidden = !nextBefore;
      status.textContent = '';
      showEmpty();
    } catch (err) {
      if (token === loading) status.textContent = `Could not load events: ${err.message}`;
    } finally {
      more.disabled = false;
    }
  }

  for (const el of [fCamera, fDay, fAlerts]) el.addEventListener('change', () => load(true));
  document.getElementById('f-clear').addEventListener('click', () => { fCamera.value = ''; fDay.value = ''; fAlerts.checked = false; load(true); });
  document.getElementById('timeline-filters').addEventListener('submit', (e) => e.preventDefault());
  more.addEventListener('click', () => load(false));

  api('api/system').then((s) => (s.cameras || []).forEach(addCamera)).catch(() => {});
  load(true);

  return {
    reload: () => load(true),
    onResult(ev) {
      addCamera(ev.camera);
      if (seen.has(ev.id) || !matches(ev)) return;
      seen.add(ev.id);
      list.querySelector('.empty')?.remove();
      list.prepend(card(ev, true));
    },
    // Alert first, words after: a detected event shows at once and leaves when described.
    onAlert(a) {
      const id = `alert-${a.event_id}`;
      document.getElementById(id)?.remove();
      // a sound event has no camera result to wait for: its described words stay as the card
      if (a.event_type === 'sound') {
        if (a.phase !== 'described' || !matches(a)) return;
        list.querySelector('.empty')?.remove();
        list.prepend(h('li', { id, class: 'card sound', role: 'status' }, a.summary));
        return;
      }
      if (a.phase !== 'detected' || !matches(a)) return;
      const what = a.label ? `${a.label} detected` : 'motion detected';
      const li = h('li', { id, class: 'card pending', role: 'status' }, `${title(a.camera)}: ${what}, describing…`);
      list.querySelector('.empty')?.remove();
      list.prepend(li);
    },
  };
}
