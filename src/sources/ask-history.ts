import type { AppContext } from '../core/context.js';
import { answerHistory, type HistoryDeps } from '../history/answer.js';
import { timelineOf } from '../publishers/timeline/timeline.js';
import type { EmbedFn } from '../router/classifier.js';
import { HistoryIntent } from '../router/history-intent.js';
import type { ModelRouter } from '../router/types.js';
import { routerGenerate, type AskGenerate } from './ask.js';

/**
 * An AskGenerate that sends questions about past events to the timeline (answerHistory) and
 * every other question to `other`. The decision's reason is in the answer's route_reason.
 */
export function historyAwareGenerate(intent: HistoryIntent, embed: EmbedFn | undefined, history: HistoryDeps, other: AskGenerate): AskGenerate {
  return async (text, signal, onToken) => {
    const d = await intent.decide(text, embed, signal);
    if (!d.history) return other(text, signal, onToken);
    const a = await answerHistory(history, text, signal, onToken);
    return { ...a, route_reason: `${d.reason}; ${a.route_reason}` };
  };
}

/** The history deps of a running bridge: its timeline, the embedding role, the text role. */
export function bridgeHistoryDeps(ctx: AppContext, router: ModelRouter = ctx.router): HistoryDeps {
  const textRole = ctx.config.router.text_default;
  return {
    store: () => timelineOf(ctx).store,
    embed: async (texts, signal) => {
      const r = await router.embed(texts, signal);
      return { vectors: r.value, model: r.model };
    },
    generate: async (system, prompt, signal, onToken) => {
      // the text role answers (a long prompt of events is not a reason for the expert)
      const r = await router.answer(prompt, { system, signal, ...(ctx.backends.get(textRole) ? { role: textRole } : {}), ...(onToken ? { onToken } : {}) });
      return { text: r.value.text, model: r.model, route: r.route, route_reason: r.reason, tokens: r.value.tokens };
    },
    timeZone: ctx.config.timeline.time_zone,
    topK: ctx.config.timeline.ask_top_k,
    cameras: Object.keys(ctx.config.cameras),
  };
}

/** `sarai/ask` and the Try-it page in the bridge: history questions from the timeline, the rest through the router. */
export function bridgeAskGenerate(ctx: AppContext): AskGenerate {
  const intent = new HistoryIntent(ctx.config.router);
  const embed: EmbedFn | undefined = ctx.backends.get('embedding')
    ? async (texts, signal) => (await ctx.router.embed(texts, signal)).value
    : undefined;
  return historyAwareGenerate(intent, embed, bridgeHistoryDeps(ctx), routerGenerate(ctx.router));
}
