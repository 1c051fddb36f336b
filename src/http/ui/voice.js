/* global document, URLSearchParams */
// Voice page: what each satellite heard (transcript) and what SARAi answered, with its audio.
import { api, h, ms, rel, title, when } from './dom.js';

export function initVoice() {
  const list = document.getElementById('voice-list');
  const status = document.getElementById('voice-status');
  const select = document.getElementById('v-satellite');
  const known = new Set();

  function addSatellite(id) {
    if (!id || known.has(id)) return;
    known.add(id);
    const keep = select.value;
    select.replaceChildren(h('option', { value: '' }, 'All satellites'), ...[...known].sort().map((s) => h('option', { value: s }, title(s))));
    select.value = keep;
  }

  function item(v) {
    return h('li', { class: 'card exchange', 'data-satellite': v.satellite },
      h('p', { class: 'meta' }, `${title(v.satellite)} · ${when(v.ts)}`),
      h('p', { class: 'bubble you' }, h('span', { class: 'who' }, 'Heard'), v.transcript || '(nothing recognised)'),
      h('p', { class: 'bubble sarai' }, h('span', { class: 'who' }, 'SARAi'), v.error ? `Error: ${v.error}` : v.text || '(no answer)'),
      v.tts_url ? h('audio', { controls: true, preload: 'none', src: rel(v.tts_url), 'aria-label': `Spoken answer for ${title(v.satellite)}` }) : null,
      h('p', { class: 'route' }, 'Answered by ', h('code', {}, v.model || '?'), ' via ', h('code', {}, v.route || '?'), v.latency_ms !== undefined ? ` in ${ms(v.latency_ms)}` : ''));
  }

  // Live exchanges that arrive while the list loads: the server's answer may predate them, so
  // they are put back on top of it instead of being wiped by replaceChildren.
  let arrived = null;
  let generation = 0;

  async function load() {
    const mine = ++generation;
    arrived = [];
    const q = new URLSearchParams({ limit: '50' });
    if (select.value) q.set('satellite', select.value);
    try {
      const body = await api(`api/voice?${q}`);
      if (mine !== generation) return; // a newer load (another filter) owns the list
      (body.satellites || []).forEach(addSatellite);
      const listed = new Set(body.entries.map((e) => e.id).filter(Boolean));
      const live = (arrived || []).filter((v) => !v.id || !listed.has(v.id)).reverse();
      list.replaceChildren(...live.map(item), ...body.entries.map(item));
      status.textContent = live.length + body.entries.length ? '' : 'No voice exchanges yet. Talk to a satellite that uses SARAi and it shows up here.';
    } catch (err) {
      status.textContent = `Could not load voice exchanges: ${err.message}`;
    } finally {
      if (mine === generation) arrived = null;
    }
  }
  select.addEventListener('change', load);
  document.getElementById('voice-filters').addEventListener('submit', (e) => e.preventDefault());

  return {
    show: load,
    onVoice(v) {
      addSatellite(v.satellite);
      if (select.value && v.satellite !== select.value) return;
      status.textContent = '';
      arrived?.push(v); // only while a load is in flight
      list.prepend(item(v));
    },
  };
}
