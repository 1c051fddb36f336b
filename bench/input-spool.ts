/**
 * What the input spool costs per camera snapshot, on the event loop (it writes synchronously
 * before the PUBACK): accept (write `.tmp`, rename) + finish (unlink) of a 217 KB and a 30 KB
 * payload in <data_dir>-like tmpfs-or-disk folder (os.tmpdir()), against the raw baseline of
 * one writeFileSync + unlinkSync of the same bytes, interleaved, in one run.
 * Run: npx tsx bench/input-spool.ts [--n 400]
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../src/log/logger.js';
import { InputSpool } from '../src/mqtt/input-spool.js';
import { percentile, printTable } from './stats.js';

const argv = process.argv.slice(2);
const nArg = argv.indexOf('--n');
const N = nArg >= 0 ? Number(argv[nArg + 1]) : 400;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-bench-spool-'));
const spool = new InputSpool({ dir: path.join(dir, 'spool'), maxAgeMs: 3_600_000, maxBytes: 1 << 30 }, createLogger('silent'), new Registry());
spool.open(() => undefined);

const rows: (string | number)[][] = [];
for (const kb of [217, 30]) {
  const payload = Buffer.alloc(kb * 1024, 7);
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < N; i++) {
    let t = performance.now();
    const f = spool.accept('sarai/camera/bench/snapshot', payload, { ts: String(Date.now()) }) as string;
    spool.finish(f);
    ours.push(performance.now() - t);
    t = performance.now();
    const p = path.join(dir, `raw-${i}`);
    writeFileSync(p, payload);
    unlinkSync(p);
    raw.push(performance.now() - t);
  }
  const f = (v: number[], p: number) => percentile(v, p).toFixed(3);
  rows.push([`spool accept+finish, ${kb} KB`, f(ours, 50), f(ours, 99)], [`raw writeFileSync+unlink, ${kb} KB`, f(raw, 50), f(raw, 99)]);
}
printTable(`input spool cost per input, ${N} each, interleaved (folder: ${os.tmpdir()}; load ${os.loadavg()[0]?.toFixed(1)})`, ['what', 'p50 ms', 'p99 ms'], rows);
rmSync(dir, { recursive: true, force: true });
