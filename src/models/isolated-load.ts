import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BackendError, TimeoutError } from '../core/errors.js';
import { GgufPreflightError } from './gguf-preflight.js';

/**
 * Loads a GGUF once in a child Node process before the bridge loads it in-process. llama.cpp
 * aborts (SIGABRT, GGML_ASSERT, uncaught C++ exceptions) on some damaged files that pass any
 * reasonable header check; in a child that kills only the child. A file that passed is
 * remembered (by path, size and mtime) for the life of the process, so it costs one extra
 * load per file, served from the page cache.
 */

// The child imports node-llama-cpp by URL, so it works whatever the working directory is.
// It runs from a temp file: under `node -e` the dynamic import of node-llama-cpp never settles.
const CHILD_SCRIPT = `
const [url, file, gpu] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(url);
const llama = await getLlama({ gpu: gpu === 'false' ? false : gpu, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: file });
const context = await model.createContext({ contextSize: 256, threads: 1 });
await context.dispose();
await model.dispose();
await llama.dispose();
process.stdout.write('SARAI_PROBE_OK\\n');
`;

const verified = new Map<string, Promise<void>>();

/**
 * Load checks still running, with their temp folders. When the bridge exits (SIGTERM ends in
 * process.exit) before a check is done, the child would go on loading a multi-GB file as an
 * orphan and its folder would stay in /tmp: the exit hook kills and removes them (both sync).
 */
const running = new Map<import('node:child_process').ChildProcess, string>();
let exitHookInstalled = false;
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
function killRunningChecks(): void {
  for (const [child, dir] of running) {
    // the whole group: node-llama-cpp starts a process of its own to test its binding
    if (child.exitCode === null && child.signalCode === null && child.pid) killGroup(child.pid);
    rmSync(dir, { recursive: true, force: true });
  }
  running.clear();
}

export interface ProbeOptions {
  /** config.runtime.gpu */
  gpu: false | string;
  /** ms before the child is killed; default 120000 */
  timeoutMs?: number;
}

/** Resolves when a child process loaded `file`; rejects with the reason llama.cpp gave. */
export function probeLoadIsolated(file: string, opts: ProbeOptions): Promise<void> {
  let key: string;
  try {
    const st = statSync(file);
    key = `${file}:${st.size}:${st.mtimeMs}`;
  } catch {
    return Promise.reject(new GgufPreflightError(file, 'model file not found'));
  }
  let p = verified.get(key);
  if (!p) {
    p = runChild(file, opts);
    verified.set(key, p);
    p.catch(() => verified.delete(key));
  }
  return p;
}

function runChild(file: string, opts: ProbeOptions): Promise<void> {
  const url = import.meta.resolve('node-llama-cpp');
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-probe-'));
  const script = path.join(dir, 'probe.mjs');
  writeFileSync(script, CHILD_SCRIPT);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, file, String(opts.gpu)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
      detached: true, // its own process group, so a kill reaches what it started too
    });
    running.set(child, dir);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', killRunningChecks);
    }
    child.once('close', () => running.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    const timer = setTimeout(() => child.pid && killGroup(child.pid), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new BackendError(`${file}: could not start the isolated load check: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && stdout.includes('SARAI_PROBE_OK')) return resolve();
      if (signal === 'SIGKILL') return reject(new TimeoutError(`${file}: the isolated load check took longer than ${timeoutMs} ms`));
      const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
      const why =
        lines.filter((l) => /GGML_ASSERT|what\(\)|error|failed/i.test(l) && !l.startsWith('at ')).slice(-2).join('; ') ||
        lines.slice(-1).join('') ||
        `exit ${code ?? signal}`;
      const crashed = signal === 'SIGABRT' || code === 134;
      reject(new GgufPreflightError(file, crashed ? `llama.cpp aborted while loading it (${why}); the file is damaged or unsupported` : `llama.cpp could not load it (${why})`));
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
