import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../log/logger.js';

/** An input read back from the spool at start. */
export interface SpooledInput {
  file: string;
  topic: string;
  payload: Buffer;
  userProperties?: Record<string, string | string[]>;
  /** When the bridge first accepted it (ms since epoch). */
  receivedMs: number;
}

export interface InputSpoolOptions {
  dir: string;
  /** Inputs older than this at the next start are reported, not run (a snapshot from yesterday is no alert). */
  maxAgeMs: number;
  /** Bound on the bytes spooled at once; beyond it an input is taken unspooled (logged once per streak). */
  maxBytes: number;
}

const SUFFIX = '.in';

/**
 * The inputs this process has acknowledged to the broker but not finished, one file each in
 * `<data_dir>/spool`. mqtt.js sends the PUBACK of a QoS 1 message only after our message
 * handler returned, and the handler writes the file first: so an input is always either
 * unacknowledged (the broker delivers it again, to us or to another worker of the group) or
 * on disk until its work has ended (result published, or counted as coalesced, repeat,
 * rejected...). A crash or SIGKILL loses neither; the next start runs what is left.
 * Writes are not fsynced: they survive the process dying, not the machine losing power
 * within the kernel's writeback delay (seconds). Format: one JSON header line, then the payload.
 */
export class InputSpool {
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  private seq = 0;
  private full = false;
  private kept = 0;
  private readonly depth: Gauge;
  private readonly replayed: Counter;

  constructor(
    private readonly o: InputSpoolOptions,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.depth = new Gauge({ name: 'sarai_spool_inputs', help: 'Inputs acknowledged to the broker and not finished yet (spooled on disk)', registers: [registry] });
    this.replayed = new Counter({ name: 'sarai_spool_replayed_total', help: 'Spooled inputs run again at start (left unfinished by the previous run)', registers: [registry] });
  }

  /**
   * Reads what the previous run left: inputs to run again, and the ones too old to (removed
   * here; `onStale` reports each). Half-written files (a kill during the write, before the
   * PUBACK) are removed: the broker still had those.
   */
  open(onStale: (input: SpooledInput, ageMs: number) => void): SpooledInput[] {
    mkdirSync(this.o.dir, { recursive: true });
    const fresh: SpooledInput[] = [];
    const now = Date.now();
    for (const name of readdirSync(this.o.dir).sort()) {
      const file = path.join(this.o.dir, name);
      if (!name.endsWith(SUFFIX)) {
        if (name.endsWith('.tmp')) this.remove(file);
        continue;
      }
      const input = this.read(file);
      if (!input) continue;
      const age = now - input.receivedMs;
      if (age > this.o.maxAgeMs) {
        onStale(input, age);
        this.remove(file);
        continue;
      }
      this.track(file, input.payload.length);
      fresh.push(input);
    }
    this.replayed.inc(fresh.length);
    return fresh;
  }

  /** Spools one input (synchronously: the PUBACK follows our return). Undefined when the spool is full. */
  accept(topic: string, payload: Buffer, userProperties?: Record<string, string | string[]>): string | undefined {
    if (this.bytes + payload.length > this.o.maxBytes) {
      if (!this.full) this.log.warn({ module: 'spool', mb: Math.round(this.o.maxBytes / 1_048_576) }, 'input spool full: inputs are taken without a copy on disk until it drains');
      this.full = true;
      return undefined;
    }
    this.full = false;
    const receivedMs = Date.now();
    const name = `${String(receivedMs).padStart(14, '0')}-${String(this.seq++).padStart(8, '0')}-${process.pid}${SUFFIX}`;
    const file = path.join(this.o.dir, name);
    const head = Buffer.from(`${JSON.stringify({ topic, receivedMs, ...(userProperties ? { userProperties } : {}) })}\n`);
    try {
      const fd = openSync(`${file}.tmp`, 'w');
      try {
        writeSync(fd, head);
        writeSync(fd, payload);
      } finally {
        closeSync(fd);
      }
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.log.error({ module: 'spool', err: errorMessage(err), dir: this.o.dir }, 'cannot write the input spool; the input is taken without a copy on disk');
      return undefined;
    }
    this.track(file, payload.length);
    return file;
  }

  /** The input's work has ended: forget it. */
  finish(file: string): void {
    if (this.untrack(file)) this.remove(file);
  }

  /** Stops counting an input that stays on disk for the next start (shutdown cut its work short). */
  keep(file: string): void {
    if (this.untrack(file)) this.kept++;
  }

  /** Inputs on disk for the next start: unfinished, and cut short by shutdown. */
  get leftForNextStart(): number {
    return this.sizes.size + this.kept;
  }

  /** Flushes the spool's directory entries (shutdown: what stays must be there after a power cut too). */
  sync(): void {
    try {
      const fd = openSync(this.o.dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // best effort
    }
  }

  get size(): number {
    return this.sizes.size;
  }

  private untrack(file: string): boolean {
    const size = this.sizes.get(file);
    if (size === undefined) return false;
    this.sizes.delete(file);
    this.bytes -= size;
    this.depth.set(this.sizes.size);
    return true;
  }

  private track(file: string, size: number): void {
    this.sizes.set(file, size);
    this.bytes += size;
    this.depth.set(this.sizes.size);
  }

  private read(file: string): SpooledInput | undefined {
    try {
      const raw = readFileSync(file);
      const nl = raw.indexOf(0x0a);
      if (nl < 0) throw new Error('no header');
      const head = JSON.parse(raw.subarray(0, nl).toString('utf8')) as { topic?: unknown; receivedMs?: unknown; userProperties?: Record<string, string | string[]> };
      if (typeof head.topic !== 'string' || typeof head.receivedMs !== 'number') throw new Error('bad header');
      return { file, topic: head.topic, payload: raw.subarray(nl + 1), receivedMs: head.receivedMs, ...(head.userProperties ? { userProperties: head.userProperties } : {}) };
    } catch (err) {
      this.log.warn({ module: 'spool', file, err: errorMessage(err) }, 'unreadable spool file removed');
      this.remove(file);
      return undefined;
    }
  }

  private remove(file: string): void {
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ module: 'spool', file, err: errorMessage(err) }, 'cannot remove a spool file');
    }
  }
}
