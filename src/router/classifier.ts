import type { Config } from '../config/schema/index.js';
import { errorMessage } from '../core/errors.js';

/** The tier a text goes to and why (recorded in the route reason). */
export interface TierDecision {
  /** `expert` (config.router.expert_role) or the text default (`tiny`). */
  role: string;
  reason: string;
}

/** Embeds texts with the embedding role (throws when it cannot). */
export type EmbedFn = (texts: string[], signal?: AbortSignal) => Promise<Float32Array[]>;

/** Cosine similarity of two vectors (0 when either is all zeros). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Vectors of fixed sentences (exemplars), embedded together on first use and kept for the
 * process: the embedding role's model does not change while SARAi runs. A failed call is
 * retried on the next use.
 */
export class ExemplarVectors<K extends string> {
  private vectors?: Promise<Map<K, Float32Array[]>>;

  constructor(private readonly groups: () => [K, string[]][]) {}

  get(embed: EmbedFn, signal?: AbortSignal): Promise<Map<K, Float32Array[]>> {
    if (!this.vectors) {
      const groups = this.groups().filter(([, v]) => v.length > 0);
      this.vectors = embed(groups.flatMap(([, v]) => v), signal).then((vecs) => {
        const table = new Map<K, Float32Array[]>();
        let i = 0;
        for (const [key, sentences] of groups) {
          table.set(key, vecs.slice(i, i + sentences.length));
          i += sentences.length;
        }
        return table;
      });
      this.vectors.catch(() => {
        this.vectors = undefined;
      });
    }
    return this.vectors;
  }
}

/**
 * Text tier classification (the seed's "TRM-Router"): the text's embedding is compared with
 * the exemplar sentences of each tier (config.router.exemplars); it goes to the expert when
 * the best expert exemplar beats the best other one by router.expert_threshold. Without an
 * embedding model (or when it fails) simple rules decide: an expert keyword, or at least
 * expert_min_words words. Exemplar vectors are embedded once and cached.
 */
export class TierClassifier {
  private readonly exemplars = new ExemplarVectors(() => Object.entries(this.router.exemplars));
  private readonly keywords: { word: string; re: RegExp }[];

  constructor(private readonly router: Config['router']) {
    this.keywords = router.expert_keywords
      .map((k) => k.trim().toLowerCase())
      .filter(Boolean)
      .map((word) => ({ word, re: new RegExp(`(^|\\W)${escapeRegExp(word)}($|\\W)`, 'u') }));
  }

  /** Whether exemplars exist for the expert tier and at least one other. */
  get hasExemplars(): boolean {
    const ex = this.router.exemplars;
    return (ex[this.router.expert_role]?.length ?? 0) > 0 && Object.entries(ex).some(([k, v]) => k !== this.router.expert_role && v.length > 0);
  }

  /** Semantic decision with `embed`; rules when embed is undefined, there are no exemplars, or it fails. */
  async classify(text: string, embed: EmbedFn | undefined, signal?: AbortSignal): Promise<TierDecision> {
    if (!embed) return this.rules(text, 'no embedding role');
    if (!this.hasExemplars) return this.rules(text, 'no exemplars');
    try {
      const table = await this.exemplarVectors(embed, signal);
      const [q] = await embed([text], signal);
      if (!q) throw new Error('no vector for the text');
      return this.decide(q, table);
    } catch (err) {
      if (signal?.aborted) throw err;
      return this.rules(text, `classifier failed: ${errorMessage(err).slice(0, 120)}`);
    }
  }

  /** The semantic decision from an embedded query (exposed for the bench). */
  decide(q: Float32Array, table: Map<string, Float32Array[]>): TierDecision {
    const { expert_role: expert, text_default: fallback, expert_threshold: margin } = this.router;
    let expertScore = -1;
    let otherScore = -1;
    let otherTier = fallback;
    for (const [tier, vecs] of table) {
      let best = -1;
      for (const v of vecs) best = Math.max(best, cosine(q, v));
      if (tier === expert) expertScore = best;
      else if (best > otherScore) {
        otherScore = best;
        otherTier = tier;
      }
    }
    const fmt = (n: number): string => n.toFixed(2);
    if (expertScore - otherScore >= margin) return { role: expert, reason: `classifier: ${expert} (${fmt(expertScore)} vs ${otherTier} ${fmt(otherScore)})` };
    return { role: fallback, reason: `classifier: ${fallback} (${otherTier} ${fmt(otherScore)} vs ${expert} ${fmt(expertScore)})` };
  }

  /** The fallback rules: an expert keyword, or a long text. */
  rules(text: string, why: string): TierDecision {
    const { expert_role: expert, text_default: fallback, expert_min_words: minWords } = this.router;
    const lower = text.toLowerCase();
    const hit = this.keywords.find((k) => k.re.test(lower));
    if (hit) return { role: expert, reason: `rules (${why}): keyword "${hit.word}"` };
    const words = text.split(/\s+/).filter(Boolean).length;
    if (words >= minWords) return { role: expert, reason: `rules (${why}): ${words} words >= expert_min_words ${minWords}` };
    return { role: fallback, reason: `rules (${why}): ${words} words, no expert keyword` };
  }

  exemplarVectors(embed: EmbedFn, signal?: AbortSignal): Promise<Map<string, Float32Array[]>> {
    return this.exemplars.get(embed, signal);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
