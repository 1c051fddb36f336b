import { InputError } from '../core/errors.js';

/** Longest text spoken in one answer (characters). */
export const MAX_SPEAK_CHARS = 2000;

/** Bytes from outside -> text, refusing anything that is not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${what} is not valid UTF-8 text`);
  }
}

/** Checks text before it goes to a TTS engine: well-formed, not empty, bounded. */
export function checkSpeakable(text: string, what = 'text to speak'): string {
  if (/\p{Surrogate}/u.test(text) || text.includes('\uFFFD')) throw new InputError(`${what} contains invalid (non-UTF-8) characters`);
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();
  if (!clean) throw new InputError(`${what} is empty`);
  if (clean.length > MAX_SPEAK_CHARS) throw new InputError(`${what} has ${clean.length} characters; the limit is ${MAX_SPEAK_CHARS}`);
  return clean;
}
