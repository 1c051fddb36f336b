import path from 'node:path';
import { LlamaBackend } from '../backends/llama/backend.js';
import { disposeSharedLlama } from '../backends/llama/runtime.js';
import { configFromObject, type LoadedConfig } from '../config/load.js';
import type { ModelConfig } from '../config/schema/index.js';
import { errorMessage } from '../core/errors.js';
import { commandLogger } from '../log/logger.js';
import { askText, backendGenerate, parseAskPayload } from '../sources/ask.js';
import { formatModelsList, modelsList, modelsVerify } from './list.js';
import { modelsPull } from './pull.js';

/** What a CLI run's exit code should be (the caller exits). */
export interface CliOutcome {
  code: number;
}

/** `sarai models list`: role, backend, file, size, present, loaded, memory. */
export function modelsListCommand(loaded: LoadedConfig, opts: { json?: boolean } = {}): CliOutcome {
  const rows = modelsList(loaded.config, loaded.baseDir);
  process.stdout.write(opts.json ? `${JSON.stringify(rows)}\n` : `${formatModelsList(rows)}\n`);
  return { code: 0 };
}

/** `sarai models pull <role | --all | hf:owner/repo/file.gguf | URL>` (progress on stderr). */
export async function modelsPullCommand(loaded: LoadedConfig, target: string, opts: { force?: boolean } = {}): Promise<CliOutcome> {
  const ac = new AbortController();
  const onSignal = () => ac.abort(new Error('interrupted (the .part file is kept; pull again to resume)'));
  process.once('SIGINT', onSignal);
  try {
    const r = await modelsPull({ config: loaded.config, baseDir: loaded.baseDir, target, signal: ac.signal, ...(opts.force ? { force: true } : {}) });
    for (const f of r.files) {
      const check = f.checked === 'pinned' ? ' (matches the pinned sha256)' : f.checked === 'hub-etag' ? " (matches the hub's sha256)" : '';
      process.stdout.write(f.skipped ? `${f.file} is already there (use --force to download again)\n` : `${f.file}: ${f.bytes} bytes, sha256 ${f.sha256}${check}\n`);
    }
    for (const f of r.failed) process.stderr.write(`sarai models pull: ${f.role}: ${f.error}\n`);
    if (r.noRoute) process.stderr.write('sarai models pull: no route to the hub (set HF_ENDPOINT to a mirror, or place the files yourself: `sarai models list` shows where)\n');
    if (r.files.length === 0 && r.failed.length === 0) process.stdout.write('nothing to pull: no enabled in-process role\n');
    return { code: r.failed.length ? 1 : 0 };
  } catch (err) {
    process.stderr.write(`sarai models pull: ${errorMessage(err)}\n`);
    return { code: 1 };
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** `sarai models verify [roles...]`: exit 1 when any file is missing, damaged or fails its sha256. */
export async function modelsVerifyCommand(loaded: LoadedConfig, roles: string[] = []): Promise<CliOutcome> {
  const results = await modelsVerify(loaded.config, loaded.baseDir, roles);
  for (const r of results) {
    const note = r.unchecked.length ? `; no sha256 known for ${r.unchecked.length} file(s) (placed by hand, or the hub gave none)` : '';
    process.stdout.write(
      r.ok
        ? `${r.role}: ok ${r.file}${r.sha256 ? ` (sha256 ${r.sha256})` : ''}${r.checked.length ? `, ${r.checked.length} file(s) sha256-checked` : ''}${note}\n`
        : `${r.role}: FAILED\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
  }
  if (results.length === 0) process.stdout.write('no in-process roles to verify\n');
  return { code: results.every((r) => r.ok) ? 0 : 1 };
}

export interface AskModelOptions {
  /** settings from this role (context_length, max_tokens...); default router.text_default */
  role?: string;
  json?: boolean;
  stream?: boolean;
}

/**
 * `sarai ask --model PATH <text>`: answers with one GGUF file in-process (preflight and the
 * isolated first load apply), bypassing the router. Prints the answer; --json prints the
 * sarai/answer JSON.
 */
export async function askModelCommand(loaded: LoadedConfig, modelPath: string, text: string, opts: AskModelOptions = {}): Promise<CliOutcome> {
  const config = loaded.config;
  const roleName = opts.role ?? config.router.text_default;
  const base: ModelConfig | undefined = config.models[roleName];
  const spec: ModelConfig = { ...(base ?? defaultSpec()), backend: 'llama', name: path.basename(modelPath), gguf_file: path.resolve(modelPath) };
  const log = commandLogger(config.log);
  const backend = new LlamaBackend({ role: roleName, spec, modelPath: path.resolve(modelPath), runtime: config.runtime, log });
  try {
    const input = parseAskPayload(Buffer.from(JSON.stringify({ text })));
    let streamed = false;
    const onToken =
      opts.stream && !opts.json
        ? (t: string) => {
            streamed = true;
            process.stdout.write(t);
          }
        : undefined;
    const answer = await askText(backendGenerate(backend, `--model ${modelPath}`), input, onToken ? { onToken } : {});
    if (opts.json) process.stdout.write(`${JSON.stringify(answer)}\n`);
    else if (!answer.error) {
      process.stdout.write(streamed ? '\n' : `${answer.text}\n`);
      process.stderr.write(`model: ${answer.model}, ${answer.tokens} tokens, ${answer.latency_ms} ms\n`);
    }
    if (answer.error) process.stderr.write(`sarai ask: ${answer.error}\n`);
    return { code: answer.error ? 1 : 0 };
  } catch (err) {
    process.stderr.write(`sarai ask: ${errorMessage(err)}\n`);
    return { code: 1 };
  } finally {
    await backend.dispose();
    await disposeSharedLlama();
  }
}

/** Schema defaults for a model file given on the command line with no role to borrow settings from. */
function defaultSpec(): ModelConfig {
  const spec = configFromObject({ models: { cli: { backend: 'llama', gguf_file: 'cli.gguf' } } }, '(defaults)').models['cli'];
  if (!spec) throw new Error('schema defaults missing');
  return spec;
}
