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

/** After a completion throws, llama.node answers every later one with "Another completion is in progress": reopen. */
async function reopen(): Promise<void> {
  const s = spec;
  const old = ctx;
  ctx = undefined;
  await old?.release().catch(() => undefined);
  if (s) await open(s);
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
      try {
        const r = await ctx.completion({
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
      } catch (err) {
        await reopen();
        throw err;
      }
      return;
    }
    case 'stop':
      ctx?.stopCompletion();
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
 * refused ("Another completion is in progress") and the reopen after it would release the
 * context under the first. So loads and completions run in arrival order; `stop` and `crash`
 * act at once.
 */
let queue: Promise<void> = Promise.resolve();

process.on('message', (msg: HostRequest) => {
  const run = (): Promise<void> =>
    handle(msg).catch((err: unknown) => {
      reply({ id: msg.id, kind: 'error', message: err instanceof Error ? err.message : String(err) });
    });
  if (msg.op === 'stop' || msg.op === 'crash') void run();
  else queue = queue.then(run);
});
process.on('disconnect', () => process.exit(0));
