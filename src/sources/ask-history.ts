import type { Config } from '../config/schema/index.js';
import { perContext, type AppContext } from '../core/context.js';
import { answerHistory, type HistoryDeps } from '../history/answer.js';
import { timelineOf } from '../publishers/timeline/timeline.js';
import { routerEmbedTexts, type EmbedTexts } from '../publishers/timeline/vector-backfill.js';
import { HistoryIntent } from '../router/history-intent.js';
import type { ModelRouter } from '../router/types.js';
import { routerGenerate, type AskGenerate } from './ask.js';

/**
 * An AskGenerate that sends questions about past events to the timeline (answerHistory) and
 * every other question to `other`. The decision's reason is in the answer's route_reason.
 * `embed` (absent: no embedding role) serves both the decision and the timeline search: the
 * question is embedded once per call.
 */
export function historyAwareGenerate(intent: HistoryIntent, embed: EmbedTexts | undefined, history: HistoryDeps, other: AskGenerate): AskGenerate {
  return async (text, signal, onToken) => {
    const once = embed && questionOnce(embed, text);
    const d = await intent.decide(text, once && (async (texts, s) => (await once(texts, s ?? signal)).vectors), signal);
    if (!d.history) return other(text, signal, onToken);
    const a = await answerHistory(once ? { ...history, embed: once } : history, text, signal, onToken);
    return { ...a, route_reason: `${d.reason}; ${a.route_reason}` };
  };
}

/** `embed`, with the call for `[question]` alone made once and shared. */
function questionOnce(embed: EmbedTexts, question: string): EmbedTexts {
  let q: ReturnType<EmbedTexts> | undefined;
  return (texts, signal) => {
    if (texts.length !== 1 || texts[0] !== question) return embed(texts, signal);
    q ??= embed(texts, signal);
    return q;
  };
}

/** History deps over a router: the embedding role, the text role (`router.text_default`) and a timeline store. */
export function historyDeps(config: Config, router: ModelRouter, hasRole: (role: string) => boolean, store: HistoryDeps['store']): HistoryDeps {
  const textRole = config.router.text_default;
  return {
    store,
    embed: routerEmbedTexts(router),
    generate: async (system, prompt, signal, onToken) => {
      // the text role answers (a long prompt of events is not a reason for the expert)
      const r = await router.answer(prompt, { system, signal, ...(hasRole(textRole) ? { role: textRole } : {}), ...(onToken ? { onToken } : {}) });
      return { text: r.value.text, model: r.model, route: r.route, route_reason: r.reason, tokens: r.value.tokens };
    },
    timeZone: config.timeline.time_zone,
    topK: config.timeline.ask_top_k,
    cameras: Object.keys(config.cameras),
  };
}

/**
 * `sarai/ask`, the Try-it page, the Wyoming conversation agent and satellite voice in the
 * bridge: history questions from the timeline, the rest through `other` (default: the router).
 */
export function bridgeAskGenerate(ctx: AppContext, other: AskGenerate = routerGenerate(ctx.router)): AskGenerate {
  return bridgeAskRouting(ctx)(other);
}

/**
 * The same, with the non-history path chosen per call (voice passes its token cap). One per
 * bridge: `sarai/ask`, Try-it, Assist and voice share the history intent, so its exemplars are
 * embedded once, not once per entry point.
 */
export const bridgeAskRouting = perContext((ctx): ((other: AskGenerate) => AskGenerate) => {
  const intent = new HistoryIntent(ctx.config.router);
  const embed = routerEmbedTexts(ctx.router);
  const deps = historyDeps(ctx.config, ctx.router, (r) => ctx.backends.get(r) !== undefined, () => timelineOf(ctx).store);
  // the registry is asked per question, not here: building it before the model manager
  // starts would create the llama backends outside the manager
  return (other) => (text, signal, onToken) => {
    const withEmbedding = ctx.backends.get('embedding') !== undefined && !ctx.backends.unavailable('embedding');
    return historyAwareGenerate(intent, withEmbedding ? embed : undefined, deps, other)(text, signal, onToken);
  };
});
