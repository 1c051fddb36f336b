import { spawn } from 'node:child_process';
import type { ModelConfig } from '../../config/schema/index.js';
import { BackendError, DisposedError, InputError, TimeoutError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../log/logger.js';
import { downmix, readWav } from '../../media/audio/index.js';
import type { Backend, BackendHealth, Capability, SynthesizeResult } from '../types.js';

/** Longest text spoken in one call (characters). */
export const MAX_ESPEAK_CHARS = 2000;
/** Largest WAV accepted from espeak-ng (bytes): ~10 minutes at 22 kHz 16-bit. */
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
/** espeak-ng voice names: language codes and variants such as `en-us` or `en+f3`. */
const VOICE_RE = /^[A-Za-z0-9_+-]{1,40}$/;

export interface EspeakBackendOptions {
  role: string;
  spec: ModelConfig;
  log: Logger;
  /** Program to run (default `espeak-ng` on PATH). */
  bin?: string;
}

/**
 * Text to speech with Debian's espeak-ng: the always-available TTS fallback. The program is
 * spawned with an argument array (never a shell), the text goes on stdin (so nothing in it
 * can become an option), the WAV comes back on stdout (`--stdout`) and is read with our WAV
 * reader. Each call has the role's timeout_s deadline; a stuck process is killed.
 */
export class EspeakBackend implements Backend {
  readonly kind = 'espeak';
  readonly role: string;
  readonly model: string;
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['audio_out']);
  private state: BackendHealth = { state: 'idle' };
  private disposed = false;
  private readonly children = new Set<ReturnType<typeof spawn>>();

  constructor(private readonly opts: EspeakBackendOptions) {
    this.role = opts.role;
    this.model = opts.spec.name || `espeak-ng${opts.spec.voice ? ` (${opts.spec.voice})` : ''}`;
    if (opts.spec.voice && !VOICE_RE.test(opts.spec.voice)) throw new InputError(`espeak voice ${JSON.stringify(opts.spec.voice)} is not a voice name`);
  }

  health(): BackendHealth {
    return { ...this.state };
  }

  /** Checks that espeak-ng runs (its --version). */
  async start(): Promise<void> {
    if (this.disposed) throw new DisposedError(`${this.role}: espeak backend is disposed`);
    if (this.state.state === 'ready') return;
    this.state = { state: 'starting' };
    try {
      await this.run(['--version'], '', 10_000);
      this.state = { state: 'ready' };
    } catch (err) {
      this.state = { state: 'failed', lastError: errorMessage(err), retryAt: Date.now() + 60_000 };
      throw new BackendError(`${this.role}: espeak-ng is not usable (install the Debian package espeak-ng): ${errorMessage(err)}`);
    }
  }

  async synthesize(text: string, signal?: AbortSignal): Promise<SynthesizeResult> {
    if (this.disposed) throw new DisposedError(`${this.role}: espeak backend is disposed`);
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();
    if (!clean) throw new InputError(`${this.role}: nothing to say (empty text)`);
    if (clean.length > MAX_ESPEAK_CHARS) throw new InputError(`${this.role}: text of ${clean.length} characters; the limit is ${MAX_ESPEAK_CHARS} per call`);
    if (clean.includes('\uFFFD')) throw new InputError(`${this.role}: text contains invalid (non-UTF-8) characters`);
    await this.start();
    const started = Date.now();
    const args = ['--stdout', '--stdin', '-b', '1']; // -b 1: input is UTF-8
    if (this.opts.spec.voice) args.push('-v', this.opts.spec.voice);
    const wav = await this.run(args, clean, this.opts.spec.timeout_s * 1000, signal);
    const decoded = readWav(wav);
    const samples = downmix(decoded.samples, decoded.format.channels);
    if (samples.length === 0) throw new BackendError(`${this.role}: espeak-ng produced no audio`);
    return { audio: { sampleRate: decoded.format.rate, samples }, model: this.model, latencyMs: Date.now() - started };
  }

  private run(args: string[], stdin: string, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.bin ?? 'espeak-ng', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.children.add(child);
      const out: Buffer[] = [];
      let size = 0;
      let stderr = '';
      let failure: Error | undefined;
      const kill = (err: Error) => {
        failure ??= err;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(() => kill(new TimeoutError(`${this.role}: espeak-ng took longer than ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => kill(new BackendError(`${this.role}: speech synthesis aborted`));
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_OUTPUT_BYTES) return kill(new BackendError(`${this.role}: espeak-ng output exceeds ${MAX_OUTPUT_BYTES} bytes`));
        out.push(d);
      });
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString();
      });
      child.stdin.on('error', () => undefined); // EPIPE when it exits early; the exit code says why
      child.once('error', (err) => kill(new BackendError(`${this.role}: cannot run espeak-ng: ${err.message}`)));
      child.once('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.children.delete(child);
        if (failure) return reject(failure);
        if (code !== 0) return reject(new BackendError(`${this.role}: espeak-ng exited with ${String(code)}: ${stderr.trim().slice(0, 300)}`));
        resolve(Buffer.concat(out));
      });
      child.stdin.end(stdin, 'utf8');
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    this.state = { state: 'idle' };
  }
}
