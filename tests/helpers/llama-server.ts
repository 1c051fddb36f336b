import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { underCI } from './ci.js';
import { freePort } from './ports.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BINARY = path.resolve(repoRoot, '../shared/bin/llama-server');
const MODEL = path.resolve(repoRoot, '../shared/models/llama-2-tiny-random.gguf');

/**
 * True when ../shared/bin/llama-server and the tiny GGUF sit beside the clone. Their absence
 * skips on a user's machine and fails under CI.
 */
export function llamaServerAvailable(): boolean {
  const ok = existsSync(BINARY) && existsSync(MODEL);
  if (!ok && underCI()) throw new Error(`${BINARY} and ${MODEL} are required under CI but missing`);
  return ok;
}

/** A real llama-server on a loopback port with the tiny random model (text is garbage, timing is real). */
export class LlamaServer {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  log = '';

  private constructor(readonly port: number) {}

  static async start(port?: number): Promise<LlamaServer> {
    const s = new LlamaServer(port ?? (await freePort()));
    await s.launch();
    return s;
  }

  /** The /v1 URL a role is configured with. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Starts it (again, on the same port) and waits until /health says ok. */
  async launch(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return; // running: a second one would orphan it
    const child = spawn(BINARY, ['-m', MODEL, '--host', '127.0.0.1', '--port', String(this.port), '-c', '512', '-np', '2', '-t', '1', '--alias', 'tiny'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}: ${this.log}`);
      const ok = await fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`llama-server on ${this.port} not healthy within 30 s: ${this.log}`);
  }

  /** SIGKILL, as a crashed server; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
