/**
 * Messages between MultimodalBackend (the bridge) and its model host, a child Node process
 * that runs @fugood/llama.node (llama.cpp + libmtmd). A native abort in llama.cpp
 * (GGML_ASSERT, an uncaught C++ exception) ends the child, never the bridge.
 */

export interface HostLoadSpec {
  modelPath: string;
  mmprojPath: string;
  /** Tokens. */
  nCtx: number;
  threads: number;
}

export interface HostCompletion {
  /** OpenAI-style chat messages; media as data: URLs (llama.node reads other strings as paths). */
  messages: unknown[];
  /** GBNF grammar (JSON-schema output), or none. */
  grammar?: string;
  maxTokens: number;
  temperature: number;
}

export interface HostTimings {
  promptTokens: number;
  promptMs: number;
  predictedTokens: number;
  predictedMs: number;
}

export interface HostCompletionResult {
  text: string;
  tokens: number;
  timings: HostTimings;
}

export interface MultimodalSupport {
  vision: boolean;
  audio: boolean;
}

export type HostRequest =
  | ({ op: 'load'; id: number } & HostLoadSpec)
  | ({ op: 'complete'; id: number } & HostCompletion)
  | { op: 'stop'; id: number }
  /** Test hook: calls process.abort() in the host, as a native abort would. */
  | { op: 'crash'; id: number }
  /**
   * Test hook: runs a completion that overflows the context and swallows its error, which
   * leaves llama.node's in-progress flag set exactly as its Queue/OnComplete race does.
   */
  | { op: 'wedge'; id: number };

export type HostReply =
  | { id: number; kind: 'result'; value: unknown }
  /**
   * contextLost: the completion failed inside llama.node, whose context then refuses every
   * later completion; the host must be ended (not released: see host-entry.ts).
   */
  | { id: number; kind: 'error'; message: string; contextLost?: boolean };
