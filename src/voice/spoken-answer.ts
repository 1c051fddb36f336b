import type { Audio } from '../backends/types.js';
import { SentenceSplitter, capAtSentence, sentences } from './sentences.js';
import { checkSpeakable } from './text.js';

export type TruncatedBy = 'max_answer_tokens' | 'max_answer_chars';

export interface SpokenAnswerOptions {
  /** Most characters spoken; the answer is cut at the last sentence end within it. */
  maxChars: number;
  /** One sentence -> speech (the router's tts role). */
  speak: (sentence: string) => Promise<Audio>;
  /** Each sentence's audio, in order, as soon as it is ready (e.g. published on `.../tts`). */
  onAudio: (audio: Audio, index: number) => Promise<void>;
}

/**
 * An answer spoken while it is being written: text pieces (tokens) go in, each sentence is
 * synthesized as soon as it is complete, one after the other, so the first sentence is heard
 * before the model has finished. Bounded: sentences past `maxChars` are not spoken.
 */
export class SpokenAnswer {
  private readonly splitter = new SentenceSplitter();
  private readonly spoken: string[] = [];
  private readonly audio: Audio[] = [];
  private chars = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure?: unknown;
  truncatedBy?: TruncatedBy;

  constructor(private readonly o: SpokenAnswerOptions) {}

  /** Text as the model writes it. */
  push(text: string): void {
    for (const s of this.splitter.push(text)) this.accept(s);
  }

  /**
   * The model is done: speaks the rest and waits for every sentence. `fullText` covers
   * backends that did not stream; `hitTokenLimit`: the rest is an unfinished sentence, dropped
   * when something was already said. Returns the spoken text and its audio, joined.
   */
  async finish(fullText: string, hitTokenLimit: boolean): Promise<{ text: string; audio: Audio; parts: number }> {
    if (this.splitter.received === 0 && fullText) this.push(fullText);
    const rest = this.splitter.flush();
    if (rest && !(hitTokenLimit && this.spoken.length > 0)) this.accept(rest);
    if (hitTokenLimit) this.truncatedBy ??= 'max_answer_tokens';
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
    if (this.spoken.length === 0) checkSpeakable('', 'answer text'); // throws: nothing to say
    return { text: this.spoken.join(' '), audio: joinAudio(this.audio), parts: this.audio.length };
  }

  private accept(sentence: string): void {
    if (this.truncatedBy === 'max_answer_chars') return;
    let s = sentence;
    const sep = this.spoken.length > 0 ? 1 : 0;
    if (this.chars + sep + s.length > this.o.maxChars) {
      this.truncatedBy = 'max_answer_chars';
      if (this.spoken.length > 0) return;
      s = capAtSentence(s, this.o.maxChars).text; // one sentence longer than the cap: cut at a word
    }
    this.chars += sep + s.length;
    this.spoken.push(s);
    const index = this.spoken.length - 1;
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined) return;
      try {
        const a = await this.o.speak(checkSpeakable(s, 'answer text'));
        this.audio.push(a);
        await this.o.onAudio(a, index);
      } catch (err) {
        this.failure = err;
      }
    });
  }
}

/**
 * The same caps for an answer spoken in one piece: at most `maxChars`, cut at a sentence end;
 * after a token limit, an unfinished last sentence is dropped when another one precedes it.
 */
export function capAnswer(text: string, maxChars: number, hitTokenLimit: boolean): { text: string; truncatedBy?: TruncatedBy } {
  let all = sentences(text);
  let by: TruncatedBy | undefined;
  if (hitTokenLimit) {
    by = 'max_answer_tokens';
    if (all.length > 1 && !/[.!?…。！？]["')\]]*$/.test(all.at(-1) ?? '')) all = all.slice(0, -1);
  }
  const capped = capAtSentence(all.join(' '), maxChars);
  return { text: capped.text, ...(capped.cut ? { truncatedBy: 'max_answer_chars' as const } : by ? { truncatedBy: by } : {}) };
}

/** Sentences' audio as one clip (same engine, same rate; another rate is resampled by index). */
function joinAudio(parts: Audio[]): Audio {
  const rate = parts[0]?.sampleRate ?? 16_000;
  const same = parts.map((p) => (p.sampleRate === rate ? p.samples : resample(p.samples, p.sampleRate, rate)));
  const out = new Float32Array(same.reduce((n, s) => n + s.length, 0));
  let off = 0;
  for (const s of same) {
    out.set(s, off);
    off += s.length;
  }
  return { sampleRate: rate, samples: out };
}

function resample(samples: Float32Array, from: number, to: number): Float32Array {
  const out = new Float32Array(Math.round((samples.length * to) / from));
  for (let i = 0; i < out.length; i++) out[i] = samples[Math.min(samples.length - 1, Math.floor((i * from) / to))] ?? 0;
  return out;
}
