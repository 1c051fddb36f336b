import type { Config } from '../config/schema/index.js';
import { errorMessage } from '../core/errors.js';
import { cosine, ExemplarVectors, type EmbedFn } from './classifier.js';

export interface HistoryDecision {
  history: boolean;
  reason: string;
}

/** Questions that are about what the cameras saw (the semantic side of the decision). */
export const DEFAULT_HISTORY_EXEMPLARS = [
  'did anyone come to the front door today',
  'when did the parcel arrive',
  'how many cars were in the driveway yesterday',
  'what happened in the garden this morning',
  'was there a person at the gate last night',
  'when was the last time the dog was in the yard',
  'show me the events from the back door camera',
  'did the delivery van come on monday',
];

/** Questions that are not: the contrast, besides the router's own tier exemplars. */
const NOT_HISTORY = ['turn on the kitchen lights', 'what is the capital of france', 'tell me a joke', 'explain how a heat pump works', 'write a short poem', 'what is two plus two'];

/** Phrases that only a question about what the house saw uses. */
const STRONG_CUES =
  /\b(did (anyone|anybody|someone|somebody)|(was|were) (there )?(anyone|anybody|someone|somebody)|has (anyone|anybody|someone|somebody)|last seen|any (activity|motion|visitors?|deliver(y|ies)))\b/;
/**
 * Phrases that ask about the past but also open general questions ("how many legs does a
 * spider have?", "did the lights turn off?", "when did the war end?"): history only beside a
 * camera word or a time word.
 */
const WEAK_CUES = /\b(how many|how often|when did|when was|what time did|did (a|an|the)|was there|were there|has the|what happened|anything happen(ed)?)\b/;
/** Words about the cameras and what they record. */
const CAMERA_WORDS = /\b(cameras?|timeline|events?|footage|snapshots?|doorbell|driveway|porch|garden|yard|gate|front door|back door|garage|motion|parcels?|packages?|deliver(y|ies|ed)|visitors?|arrived|came|seen|detected|recorded)\b/;
/** Past-time words. */
const TIME_WORDS =
  /\b(today|yesterday|tonight|last night|this (morning|afternoon|evening|week)|last (hour|week|\d+ hours?|\d+ minutes?)|since|monday|tuesday|wednesday|thursday|friday|saturday|sunday|ago|january|february|march|april|may \d{1,2}|june|july|august|september|october|november|december|\d{4}-\d{2}-\d{2})\b/;

/**
 * Whether a question is about the timeline: cheap cues first ("did anyone"; "how many" or
 * "what happened" beside a camera or time word; a camera word together with a time word), then, with an embedding role, its
 * similarity to history exemplars against the tier exemplars and a few general questions
 * (the same idea as the tiny/expert classifier). Without embeddings, the cues decide alone.
 */
export class HistoryIntent {
  private readonly table = new ExemplarVectors<'history' | 'other'>(() => [
    ['history', this.exemplars],
    ['other', [...NOT_HISTORY, ...Object.values(this.router.exemplars).flat()]],
  ]);

  constructor(private readonly router: Config['router']) {}

  private get exemplars(): string[] {
    return this.router.history_exemplars.length > 0 ? this.router.history_exemplars : DEFAULT_HISTORY_EXEMPLARS;
  }

  cues(text: string): HistoryDecision | undefined {
    const q = text.toLowerCase();
    const strong = STRONG_CUES.exec(q);
    if (strong) return { history: true, reason: `history cue "${strong[0]}"` };
    const cam = CAMERA_WORDS.exec(q);
    const time = TIME_WORDS.exec(q);
    const weak = WEAK_CUES.exec(q);
    const context = cam ?? time;
    if (weak && context) return { history: true, reason: `history cue "${weak[0]}" + "${context[0]}"` };
    if (cam && time) return { history: true, reason: `history cue "${cam[0]}" + "${time[0]}"` };
    return undefined;
  }

  async decide(text: string, embed: EmbedFn | undefined, signal?: AbortSignal): Promise<HistoryDecision> {
    const cue = this.cues(text);
    if (cue) return cue;
    if (!embed) return { history: false, reason: 'no history cue (no embedding role)' };
    try {
      const table = await this.table.get(embed, signal);
      const [q] = await embed([text], signal);
      if (!q) throw new Error('no vector for the question');
      const best = (vs: Float32Array[]): number => vs.reduce((m, v) => Math.max(m, cosine(q, v)), -1);
      const h = best(table.get('history') ?? []);
      const o = best(table.get('other') ?? []);
      const history = h - o >= this.router.history_threshold;
      return { history, reason: `history classifier: ${history ? 'history' : 'not history'} (${h.toFixed(2)} vs ${o.toFixed(2)})` };
    } catch (err) {
      if (signal?.aborted) throw err;
      return { history: false, reason: `no history cue (classifier failed: ${errorMessage(err).slice(0, 120)})` };
    }
  }
}
