/**
 * pino's JSON lines as plain text, for people reading the log: the Home Assistant add-on log
 * panel and a terminal. One line per record:
 *
 *   2026-11-29 09:02:52.111Z INFO  mqtt: connected to MQTT broker url=mqtt://127.0.0.1:1884
 *
 * The record is what pino already wrote (secrets already redacted). Control characters in any
 * value are escaped and a message's line breaks start indented continuation lines, so text
 * from the network cannot forge a record: every record starts at column 0, nothing else does.
 */

/** `{"level":"info","time":...,"msg":...}` -> one text line (with `\n`); a line that is not a JSON object passes through. */
export function textLine(json: string, withStack = false): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return json;
    o = parsed as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, app, module, msg, err, ...rest } = o;
  const when = typeof time === 'string' ? time.replace('T', ' ') : '';
  const lvl = String(level ?? '').toUpperCase().padEnd(5);
  const who = typeof module === 'string' ? module : typeof app === 'string' ? app : '';
  // a message's own line breaks (a list of files to place) become indented continuation lines
  const message = (typeof msg === 'string' ? msg : '').split('\n').map(escape).join('\n    ');
  let line = `${when} ${lvl} ${who ? `${escape(who)}: ` : ''}${message}`;
  for (const [k, v] of Object.entries(rest)) line += ` ${escape(k)}=${value(v)}`;
  let stack = '';
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    const what = [e['type'], e['message']].filter((x) => typeof x === 'string' && x).join(': ');
    line += ` err=${value(what || err)}`;
    // the first stack line repeats the message
    if (withStack && typeof e['stack'] === 'string') stack = e['stack'].split('\n').slice(1).map((l) => `    ${escape(l.trim())}\n`).join('');
  } else if (err !== undefined) {
    line += ` err=${value(err)}`;
  }
  return `${line}\n${stack}`;
}

/** A field value: bare when it is a plain word, else as JSON (quoted, escaped). */
function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=\p{Cc}]+$/u.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function escape(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
