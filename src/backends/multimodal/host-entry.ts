/**
 * Model host entry (a child process, see model-host.ts): owns one llama.node context with its
 * projector and answers HostRequests over IPC. Errors go back as messages; a native abort
 * ends this process and the parent fails the call in flight.
 */
import type { HostCompletionResult, HostLoadSpec, HostReply, HostRequest, MultimodalSupport } from './host-protocol.js';

let spec: HostLoadSpec | undefined;
/** The part of @fugood/llama.node's context we use (its shipped .ts types do not compile under our strict settings). */
interface LlamaContext {
  initMultimodal(o: { path: string; use_gpu: boolean }): Promise<boolean>;
  getMultimodalSupport(): MultimodalSupport;
  completion(o: Record<string, unknown>): Promise<{ text: string; tokens_predicted: number; timings: { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number } }>;
  stopCompletion(): void;
  release(): Promise<void>;
}
type LoadModel = (o: Record<string, unknown>) => Promise<LlamaContext>;
const LLAMA_NODE = '@fugood/llama.node';
const { loadModel } = (await import(LLAMA_NODE)) as { loadModel: LoadModel };

let ctx: LlamaContext | undefined;

function reply(msg: HostReply): void {
  process.send?.(msg);
}

async function open(s: HostLoadSpec): Promise<MultimodalSupport> {
  const c = await loadModel({ model: s.modelPath, n_ctx: s.nCtx, n_threads: s.threads, n_gpu_layers: 0, use_mmap: true });
  try {
    const ok = await c.initMultimodal({ path: s.mmprojPath, use_gpu: false });
    if (!ok) throw new Error('the projector did not initialize');
  } catch (err) {
    await c.release();
    throw new Error(`mmproj ${s.mmprojPath} refused by libmtmd: ${err instanceof Error ? err.message : String(err)} (damaged file, or its projection_dim does not match the text model's embedding_length)`);
  }
  ctx = c;
  spec = s;
  return c.getMultimodalSupport();
}

/**
 * A completion that failed inside llama.node (1.7.15) wedges its context. Its worker clears
 * the context's in-progress flag only on success, and sets the clear callback only after
 * queueing the work, so a failure (or a completion fast enough to finish before that line)
 * leaves the flag pointing at a freed worker: every later completion is refused with
 * "Another completion is in progress", and release()/stopCompletion() would write through
 * that pointer. So the context is never touched again: the parent ends this process.
 */
class ContextLost extends Error {}
let lost = false;

function explain(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Not enough context space/i.test(msg)) {
    return `the prompt does not fit the context (context_length ${spec?.nCtx ?? '?'} tokens): raise the role's context_length or send fewer or smaller images or shorter audio (llama.cpp: ${msg})`;
  }
  return msg;
}

async function complete(c: LlamaContext, o: Record<string, unknown>): Promise<Awaited<ReturnType<LlamaContext['completion']>>> {
  try {
    return await c.completion(o);
  } catch (err) {
    lost = true;
    throw new ContextLost(explain(err));
  }
}

async function handle(msg: HostRequest): Promise<void> {
  switch (msg.op) {
    case 'load': {
      const { id: _id, op: _op, ...s } = msg;
      reply({ id: msg.id, kind: 'result', value: await open(s) });
      return;
    }
    case 'complete': {
      if (!ctx) throw new Error('no model loaded in the host');
      if (lost) throw new ContextLost('the context is wedged by an earlier failed completion');
      const r = await complete(ctx, {
        messages: msg.messages,
        n_predict: msg.maxTokens,
        temperature: msg.temperature,
        ...(msg.grammar ? { grammar: msg.grammar } : {}),
      });
      const value: HostCompletionResult = {
        text: r.text,
        tokens: r.tokens_predicted,
        timings: { promptTokens: r.timings.prompt_n, promptMs: r.timings.prompt_ms, predictedTokens: r.timings.predicted_n, predictedMs: r.timings.predicted_ms },
      };
      reply({ id: msg.id, kind: 'result', value });
      return;
    }
    case 'wedge': {
      if (!ctx) throw new Error('no model loaded in the host');
      const words = 'word '.repeat((spec?.nCtx ?? 4096) * 2);
      await ctx.completion({ messages: [{ role: 'user', content: words }], n_predict: 1 }).catch(() => undefined);
      reply({ id: msg.id, kind: 'result', value: null });
      return;
    }
    case 'stop':
      if (!lost) ctx?.stopCompletion();
      reply({ id: msg.id, kind: 'result', value: null });
      return;
    case 'crash':
      // as a GGML_ASSERT does: name the cause on stderr, then abort (pipes are synchronous on Linux)
      process.stderr.write('host-entry.ts: GGML_ASSERT(crash requested by a test) failed\n');
      process.abort();
  }
}

/**
 * One llama.node context runs one completion at a time: a second one started meanwhile is
 * refused ("Another completion is in progress"). So loads and completions run in arrival
 * order; `stop` and `crash` act at once.
 */
let queue: Promise<void> = Promise.resolve();

process.on('message', (msg: HostRequest) => {
  const run = (): Promise<void> =>
    handle(msg).catch((err: unknown) => {
      reply({ id: msg.id, kind: 'error', message: err instanceof Error ? err.message : String(err), ...(err instanceof ContextLost ? { contextLost: true } : {}) });
    });
  if (msg.op === 'stop' || msg.op === 'crash') void run();
  else queue = queue.then(run);
});
process.on('disconnect', () => process.exit(0));
