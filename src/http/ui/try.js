/* global document */
// Try it page: ask a question, describe an image, transcribe a WAV — straight through the router;
// and a digest of the timeline (POST api/digest: built, not published on MQTT).
import { api, h, ms, title } from './dom.js';

function routeLine(r) {
  return h('p', { class: 'route' }, 'Answered by ', h('code', {}, r.model || '?'), ' via ', h('code', { title: r.route_reason || '' }, r.route || '?'), ` in ${ms(r.latency_ms)}`);
}

/** Runs `work` for a form: button busy, result or error in `out`. */
function wire(formId, outId, work) {
  const form = document.getElementById(formId);
  const out = document.getElementById(outId);
  const button = form.querySelector('button[type=submit]');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    out.className = 'out';
    out.replaceChildren(h('p', {}, 'Working…'));
    try {
      out.replaceChildren(...(await work(form)));
    } catch (err) {
      out.className = 'out error';
      out.replaceChildren(h('p', { role: 'alert' }, err.message));
    } finally {
      button.disabled = false;
    }
  });
}

export function initTry() {
  wire('try-ask', 'ask-out', async (form) => {
    const text = form.elements.text.value;
    const r = await api('api/ask', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    // a history question cites timeline events: each with its time, camera and snapshot link
    const cited = r.sources?.length
      ? h('ol', { class: 'sources', 'aria-label': 'Cited events' }, r.sources.map((s) => h('li', {},
        h('code', {}, s.id), ` ${new Date(s.ts).toLocaleString()} · ${s.camera}: ${s.summary} `,
        s.snapshot_url ? h('a', { href: s.snapshot_url, target: '_blank', rel: 'noopener' }, 'snapshot') : null)))
      : null;
    const counted = r.history?.count ? h('p', { class: 'meta' }, `Counted from the database: ${r.history.count.n} (${r.history.count.term || 'events'}), ${r.history.events_in_range} events in range`) : null;
    return [h('p', {}, r.text), counted, cited, routeLine(r)].filter(Boolean);
  });

  const file = document.getElementById('describe-file');
  const preview = document.getElementById('describe-preview');
  file.addEventListener('change', () => {
    const f = file.files[0];
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.hidden = !f;
    if (f) { preview.src = URL.createObjectURL(f); preview.alt = `Preview of ${f.name}`; }
  });
  wire('try-describe', 'describe-out', async (form) => {
    const f = form.elements.file.files[0];
    const r = await api('api/describe', { method: 'POST', headers: { 'content-type': f.type || 'application/octet-stream' }, body: f });
    return [
      h('p', {}, h('strong', {}, r.summary)),
      r.description && r.description !== r.summary ? h('p', {}, r.description) : null,
      r.objects?.length ? h('ul', { class: 'chips', 'aria-label': 'Objects' }, r.objects.map((o) => h('li', {}, o))) : null,
      r.alert ? h('p', { class: 'badge sev-high' }, `Alert · ${r.severity}`) : null,
      routeLine(r),
    ].filter(Boolean);
  });

  wire('try-transcribe', 'transcribe-out', async (form) => {
    const f = form.elements.file.files[0];
    const r = await api('api/transcribe', { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: f });
    return [h('p', {}, r.text || '(no speech recognised)'), h('p', { class: 'meta' }, `${r.duration_s} s of audio`), routeLine(r)];
  });

  // digest: a named period or a date; the counts are SQL, the text is the model's or the plain one
  const period = document.getElementById('digest-period');
  const date = document.getElementById('digest-date');
  const camera = document.getElementById('digest-camera');
  const syncDate = () => {
    date.disabled = period.value !== 'date';
    date.required = !date.disabled;
  };
  period.addEventListener('change', syncDate);
  syncDate();
  api('api/system').then((s) => {
    for (const c of [...(s.cameras || [])].sort()) camera.append(h('option', { value: c }, title(c)));
  }).catch(() => {});
  wire('try-digest', 'digest-out', async (form) => {
    const body = { period: period.value === 'date' ? form.elements.date.value : period.value };
    if (camera.value) body.camera = camera.value;
    const d = await api('api/digest', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const source = d.text_source === 'model'
      ? h('p', { class: 'meta', 'data-source': 'model' }, 'Text written by ', h('code', {}, d.model || 'the text model'), ' around the counts')
      : h('p', { class: 'meta', 'data-source': 'counts' }, d.model_error ? `Plain text from the counts (the text model failed: ${d.model_error})` : 'Plain text from the counts');
    const rows = d.cameras?.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'digest-counts' },
        h('caption', {}, `Counted from the database: ${d.totals.events} events, ${d.totals.alerts} alerts`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Camera'), h('th', { scope: 'col' }, 'Events'), h('th', { scope: 'col' }, 'Alerts'), h('th', { scope: 'col' }, 'Objects'))),
        h('tbody', {}, d.cameras.map((c) => h('tr', { 'data-camera': c.camera },
          h('th', { scope: 'row' }, title(c.camera)), h('td', {}, c.events), h('td', {}, c.alerts),
          h('td', {}, Object.entries(c.objects || {}).map(([label, n]) => `${label} ×${n}`).join(', ') || '–'))))))
      : h('p', { class: 'meta' }, 'No events counted in this period.');
    const span = h('p', { class: 'meta' }, `${d.period}${d.camera ? ` · ${title(d.camera)}` : ''}: ${new Date(d.since).toLocaleString()} – ${new Date(d.until).toLocaleString()}`);
    return [h('p', { class: 'digest-text' }, d.text), source, rows, span];
  });
  return {};
}
