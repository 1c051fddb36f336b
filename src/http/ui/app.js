/* global document, window, EventSource */
// Entry point: tabs (hash routing, keyboard), the live event stream, and the four pages.
import { initTimeline } from './timeline.js';
import { initVoice } from './voice.js';
import { initSystem } from './system.js';
import { initTry } from './try.js';

const tabs = [...document.querySelectorAll('[role=tab]')];
const pages = {};

function select(name, focus = false) {
  if (!tabs.some((t) => t.dataset.tab === name)) name = 'timeline';
  for (const t of tabs) {
    const on = t.dataset.tab === name;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    if (on && focus) t.focus();
  }
  pages[name]?.show?.();
  for (const [n, p] of Object.entries(pages)) if (n !== name) p.hide?.();
}

for (const t of tabs) {
  t.addEventListener('click', () => {
    window.location.hash = t.dataset.tab;
  });
  // WAI-ARIA tabs: arrow keys move between tabs
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    const target = tabs[(next + tabs.length) % tabs.length];
    window.location.hash = target.dataset.tab;
    target.focus();
  });
}
window.addEventListener('hashchange', () => select(window.location.hash.slice(1)));

const conn = document.getElementById('conn');
function connState(state, text) {
  conn.className = `conn ${state}`;
  conn.querySelector('.conn-text').textContent = text;
}

pages.timeline = initTimeline();
pages.voice = initVoice();
pages.system = initSystem();
pages.try = initTry();
select(window.location.hash.slice(1));

// One live stream for all pages; EventSource reconnects by itself after `retry` ms.
const stream = new EventSource('api/stream');
let wasDown = false;
stream.addEventListener('open', () => {
  connState('live', 'Live');
  // events published while the stream was down are fetched, not lost
  if (wasDown) pages.timeline.reload();
  wasDown = false;
});
stream.addEventListener('result', (e) => pages.timeline.onResult(JSON.parse(e.data)));
stream.addEventListener('alert', (e) => pages.timeline.onAlert(JSON.parse(e.data)));
stream.addEventListener('voice', (e) => pages.voice.onVoice(JSON.parse(e.data)));
// 'error' is both the bridge's error-report event (with data) and EventSource's own (without)
stream.addEventListener('error', (e) => {
  if (e.data) pages.system.onError(JSON.parse(e.data));
  else {
    wasDown = true;
    connState('down', 'Reconnecting…');
  }
});
