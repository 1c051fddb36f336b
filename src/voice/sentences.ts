/**
 * Sentence boundaries for speaking text as it arrives: a TTS engine gets whole sentences, so
 * the first one can be heard while the rest is still being written.
 */

/** A sentence ends at . ! ? … (or their CJK forms) followed by space, or at a line break. */
const SENTENCE_END = /[.!?…。！？]+["')\]]*(?=\s)|\n+/g;

/** Fed text piece by piece; hands back each sentence once it is complete. */
export class SentenceSplitter {
  private buf = '';

  /** Characters received so far (for limits on a stream). */
  received = 0;

  /** Adds text; returns the sentences it completed (trimmed, non-empty). */
  push(text: string): string[] {
    this.buf += text;
    this.received += text.length;
    const out: string[] = [];
    let from = 0;
    SENTENCE_END.lastIndex = 0;
    for (let m = SENTENCE_END.exec(this.buf); m; m = SENTENCE_END.exec(this.buf)) {
      const end = m.index + m[0].length;
      const s = this.buf.slice(from, end).trim();
      if (s) out.push(s);
      from = end;
    }
    this.buf = this.buf.slice(from);
    return out;
  }

  /** The unfinished rest (trimmed; may be empty); the splitter starts over. */
  flush(): string {
    const rest = this.buf.trim();
    this.buf = '';
    return rest;
  }
}

/** Splits a whole text into sentences. */
export function sentences(text: string): string[] {
  const s = new SentenceSplitter();
  const out = s.push(text);
  const rest = s.flush();
  return rest ? [...out, rest] : out;
}

/**
 * Cuts `text` to at most `maxChars`, at the last sentence end that fits (at a word when no
 * sentence fits). `cut` says whether anything was dropped.
 */
export function capAtSentence(text: string, maxChars: number): { text: string; cut: boolean } {
  const t = text.trim();
  if (t.length <= maxChars) return { text: t, cut: false };
  let kept = '';
  for (const s of sentences(t)) {
    const next = kept ? `${kept} ${s}` : s;
    if (next.length > maxChars) break;
    kept = next;
  }
  if (!kept) {
    const head = t.slice(0, maxChars);
    const space = head.lastIndexOf(' ');
    kept = (space > maxChars / 2 ? head.slice(0, space) : head).trim();
  }
  return { text: kept, cut: true };
}
