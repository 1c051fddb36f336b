import { InputError } from '../core/errors.js';

export const ID_RE = /^[a-z0-9_]+$/;
const MAX_ID = 64;

/** Validates an id taken from a topic or payload before it is used to build anything. */
export function checkId(kind: string, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID || !ID_RE.test(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new InputError(`invalid ${kind} id ${shown}: use 1-${MAX_ID} characters of a-z, 0-9 and _`);
  }
  return id;
}

/** A topic we publish to: no wildcards, no empty or NUL levels. */
export function checkPublishTopic(topic: string): void {
  if (topic.length === 0 || /[+#\0]/.test(topic) || topic.length > 65_535) {
    throw new InputError(`refusing to publish to invalid topic ${JSON.stringify(topic.slice(0, 120))}`);
  }
}

/** MQTT filter matching (`+` one level, `#` the rest), with `$share/group/` stripped. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  const fl = f.split('/');
  const tl = topic.split('/');
  for (let i = 0; i < fl.length; i++) {
    const part = fl[i];
    if (part === '#') return i === fl.length - 1 && !(i === 0 && topic.startsWith('$'));
    if (i >= tl.length) return false;
    if (part === '+') {
      if (i === 0 && topic.startsWith('$')) return false;
      continue;
    }
    if (part !== tl[i]) return false;
  }
  return fl.length === tl.length;
}
