import type { BackendRegistry } from '../backends/registry.js';
import type { Audio, Backend, Capability, GenerateRequest, GenerateResult, SynthesizeResult, TranscribeResult } from '../backends/types.js';
import { BackendError, errorMessage, InputError } from '../core/errors.js';
import type { Logger } from '../log/logger.js';
import { TierClassifier, type EmbedFn, type TierDecision } from './classifier.js';
import { NoCapableBackendError } from './errors.js';
import type { AnswerOptions, DescribeRequest, ModelRouter, Routed } from './types.js';

/** One role to try, and what the call needs from it. */
interface Candidate {
  role: string;
  /** Set for a preferred role that is not there (disabled, not configured): said in the reason. */
  skip?: string;
}

/** What a call on one backend returns, plus notes for the reason (audio dropped...). */
interface Attempt<T> {
  value: T;
  notes?: string[];
}

/** The role that answers speech when no role says otherwise. */
const TTS_ROLE = 'tts';
const EMBEDDING_ROLE = 'embedding';
/** How long, and how many, single-text vectors `embed` keeps for the tier classifier. */
const RECENT_MS = 10_000;
const RECENT_MAX = 16;

/**
 * The ModelRouter: picks the role for each input and falls back when it cannot answer.
 * - image/frames (+ audio) -> router.image_chain (omni, then vision); audio -> audio_chain
 *   (omni, then stt); speech -> tts; embeddings -> embedding; each role's `fallbacks` follow
 *   it, then any other role with the capability as a last resort.
 * - text -> router.text_default unless the classifier (embedding similarity to exemplars,
 *   rules without an embedding model) says router.expert_role.
 * A role that failed to start (retried every retry_start_s), whose circuit is open, or that
 * fails or times out is passed over for the next; the reason says so. Nothing left -> a
 * NoCapableBackendError naming every role and why.
 */
export class Router implements ModelRouter {
  readonly classifier: TierClassifier;
  /**
   * The embedding role's vectors for single texts, kept RECENT_MS: a question that `embed`
   * turned into a vector for the history decision and the timeline search is not embedded a
   * second time for the tier decision when it goes on to `answer`.
   */
  private readonly recent = new Map<string, { vector: Float32Array; model: string; at: number }>();

  constructor(
    private readonly registry: BackendRegistry,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.classifier = new TierClassifier(registry.config.router);
  }

  async answer(text: string, opts: AnswerOptions = {}): Promise<Routed<GenerateResult>> {
    if (typeof text !== 'string' || !text.trim()) throw new InputError('ask: the question is empty');
    const started = this.now();
    const cfg = this.registry.config.router;
    let decision: TierDecision;
    if (opts.role) {
      if (!this.registry.get(opts.role)) throw new NoCapableBackendError(`role ${opts.role}: ${this.registry.unavailable(opts.role) ?? 'unknown'} (configured: ${this.registry.roles().join(', ') || 'none'})`);
      decision = { role: opts.role, reason: `role ${opts.role} requested` };
    } else if (!this.registry.get(cfg.expert_role)) {
      decision = { role: cfg.text_default, reason: `text (no ${cfg.expert_role} role)` };
    } else if (this.registry.unavailable(cfg.expert_role)) {
      decision = { role: cfg.text_default, reason: `text; ${cfg.expert_role} ${this.registry.unavailable(cfg.expert_role)}` };
    } else {
      decision = await this.classifier.classify(text, this.classifierEmbed(), opts.signal);
    }
    const chain = this.chain([decision.role, cfg.text_default], 'text', (b) => b.generate !== undefined);
    const messages: GenerateRequest['messages'] = [];
    if (opts.system) messages.push({ role: 'system', content: opts.system });
    messages.push({ role: 'user', content: text });
    return this.run('answer', chain, decision.reason, started, opts.signal, async (b, signal) => ({
      value: await (b.generate as NonNullable<Backend['generate']>)({
        messages,
        signal,
        ...(opts.onToken ? { onToken: opts.onToken } : {}),
        ...(opts.maxTokens ? { maxTokens: Math.min(opts.maxTokens, this.registry.config.models[b.role]?.max_tokens ?? opts.maxTokens) } : {}),
      }),
    }));
  }

  async describe(req: DescribeRequest): Promise<Routed<GenerateResult>> {
    const images = req.images;
    if (!Array.isArray(images) || images.length === 0) throw new InputError('describe: no image given');
    const started = this.now();
    const cfg = this.registry.config.router;
    const what = `${images.length > 1 ? `${images.length} frames` : 'image'}${req.audio ? ' + audio' : ''} input`;
    const chain = this.chain(cfg.image_chain, 'image', (b) => b.generate !== undefined);
    return this.run('describe', chain, what, started, req.signal, async (b, signal) => {
      const notes: string[] = [];
      const hears = b.capabilities.has('audio_in');
      if (req.audio && !hears) notes.push(`audio dropped (${b.role} cannot hear)`);
      const schema = req.jsonSchema && b.capabilities.has('json_schema') ? req.jsonSchema : undefined;
      if (req.jsonSchema && !schema) notes.push(`plain text (${b.role} has no JSON schema output)`);
      const value = await (b.generate as NonNullable<Backend['generate']>)({
        messages: [{ role: 'user', content: req.prompt }],
        images,
        signal,
        ...(req.audio && hears ? { audio: req.audio } : {}),
        ...(schema ? { jsonSchema: schema } : {}),
      });
      return { value, notes };
    });
  }

  async transcribe(audio: Audio, signal?: AbortSignal): Promise<Routed<TranscribeResult>> {
    if (!audio || !(audio.samples instanceof Float32Array) || audio.samples.length === 0) throw new InputError('transcribe: no audio given');
    const started = this.now();
    const chain = this.chain(this.registry.config.router.audio_chain, 'audio_in', (b) => b.transcribe !== undefined);
    return this.run('transcribe', chain, 'audio input', started, signal, async (b, s) => ({
      value: await (b.transcribe as NonNullable<Backend['transcribe']>)(audio, s),
    }));
  }

  async synthesize(text: string, signal?: AbortSignal): Promise<Routed<SynthesizeResult>> {
    if (typeof text !== 'string' || !text.trim()) throw new InputError('speak: the text is empty');
    const started = this.now();
    const chain = this.chain([TTS_ROLE], 'audio_out', (b) => b.synthesize !== undefined);
    return this.run('synthesize', chain, 'speech output', started, signal, async (b, s) => ({
      value: await (b.synthesize as NonNullable<Backend['synthesize']>)(text, s),
    }));
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Routed<Float32Array[]>> {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw new InputError('embed: texts must be strings');
    const started = this.now();
    const chain = this.chain([EMBEDDING_ROLE], 'embedding', (b) => b.embed !== undefined);
    const r = await this.run('embed', chain, 'embedding', started, signal, async (b, s) => ({
      value: await (b.embed as NonNullable<Backend['embed']>)(texts, s),
    }));
    const [text] = texts;
    const [vector] = r.value;
    // only the role's own vectors: a fallback's would not compare with the exemplars
    if (texts.length === 1 && text !== undefined && vector && r.route === EMBEDDING_ROLE) {
      this.recent.delete(text);
      this.recent.set(text, { vector, model: r.model, at: this.now() });
      for (const k of this.recent.keys()) {
        if (this.recent.size <= RECENT_MAX) break;
        this.recent.delete(k);
      }
    }
    return r;
  }

  // --- internals ---

  /** The embedding role for the classifier, or undefined (rules) when it is missing or down. */
  private classifierEmbed(): EmbedFn | undefined {
    const e = this.registry.get(EMBEDDING_ROLE);
    if (!e?.backend.embed || this.registry.unavailable(EMBEDDING_ROLE)) return undefined;
    return async (texts, signal) => {
      const hit = texts.length === 1 ? this.recent.get(texts[0] as string) : undefined;
      if (hit && hit.model === e.backend.model && this.now() - hit.at <= RECENT_MS) return [hit.vector];
      return this.registry.invoke(EMBEDDING_ROLE, signal, (b, s) => (b.embed as NonNullable<Backend['embed']>)(texts, s), 'classify');
    };
  }

  /**
   * The roles to try, in order: `preferred` each followed by its own fallbacks (recursively,
   * no repeats), then every other configured role with the capability.
   */
  private chain(preferred: readonly string[], cap: Capability, can: (b: Backend) => boolean): Candidate[] {
    const seen = new Set<string>();
    const out: Candidate[] = [];
    const add = (role: string): void => {
      if (seen.has(role)) return;
      seen.add(role);
      const e = this.registry.get(role);
      if (!e) out.push({ role, skip: this.registry.unavailable(role) ?? 'not configured' });
      else if (e.backend.capabilities.has(cap) && can(e.backend)) out.push({ role });
      for (const f of this.registry.config.models[role]?.fallbacks ?? []) add(f);
    };
    for (const r of preferred) add(r);
    for (const r of this.registry.roles()) {
      if (seen.has(r)) continue;
      const e = this.registry.get(r);
      if (e && e.backend.capabilities.has(cap) && can(e.backend)) {
        seen.add(r);
        out.push({ role: r });
      }
    }
    return out;
  }

  /** Tries each candidate in turn; the first answer wins, with a reason naming every role passed over. */
  private async run<T>(
    op: string,
    chain: Candidate[],
    preamble: string,
    started: number,
    signal: AbortSignal | undefined,
    call: (b: Backend, signal: AbortSignal) => Promise<Attempt<T>>,
  ): Promise<Routed<T>> {
    const passed: string[] = [];
    const failures: { role: string; err: unknown }[] = [];
    for (const { role, skip } of chain) {
      const down = skip ?? this.registry.unavailable(role);
      if (down) {
        passed.push(`${role} ${down}`);
        continue;
      }
      let model = role;
      try {
        const attempt = await this.registry.invoke(
          role,
          signal,
          (b, s) => {
            model = b.model;
            return call(b, s);
          },
          op,
        );
        const reason = [preamble, ...passed].join('; ') + ` -> ${role}` + (attempt.notes?.length ? `; ${attempt.notes.join('; ')}` : '');
        return { value: attempt.value, route: role, reason, model, latencyMs: Math.round(this.now() - started) };
      } catch (err) {
        if (signal?.aborted) throw err;
        failures.push({ role, err });
        passed.push(`${role} failed (${errorMessage(err).slice(0, 160)})`);
        this.log.warn({ module: 'router', op, role, err: errorMessage(err) }, 'backend failed; trying the next');
      }
    }
    if (failures.length === 0) {
      const why = passed.length > 0 ? passed.join('; ') : 'no configured role has the capability';
      throw new NoCapableBackendError(`${op}: no configured, healthy backend can take ${preamble}: ${why}`);
    }
    const detail = failures.map((f) => errorMessage(f.err)).join('; ');
    if (failures.every((f) => f.err instanceof InputError)) throw new InputError(`${op} failed: ${detail}`);
    const skipped = passed.filter((p) => !failures.some((f) => p.startsWith(`${f.role} failed`)));
    throw new BackendError(`${op} failed on every capable backend: ${detail}${skipped.length ? ` (also passed over: ${skipped.join('; ')})` : ''}`);
  }
}
