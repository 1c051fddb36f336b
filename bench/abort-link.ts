/**
 * What one long-lived signal (a backend's lifetime) keeps after N calls that each link a
 * short-lived signal to it and end: Node's AbortSignal.any (the baseline) against linkSignals.
 * Heap after a full GC, each way in the same run.
 *
 *   node --expose-gc --import tsx bench/abort-link.ts            # N = 200000
 *   node --expose-gc --import tsx bench/abort-link.ts --n 50000
 */
import v8 from 'node:v8';
import { linkSignals } from '../src/core/abort.js';
import { argValue as arg, printTable } from './stats.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/abort-link.ts (the heap is read after a full GC)');
const n = Number(arg('n') ?? 200_000);
if (!(Number.isInteger(n) && n > 0)) throw new Error(`--n must be a positive whole number, not ${arg('n') ?? ''}`);

const heapMb = (): number => {
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size / 1_048_576;
};

/** Heap growth over n linked-and-ended calls on one lifetime, and the time per call. */
async function measure(link: (lifetime: AbortSignal, call: AbortSignal) => () => void): Promise<{ mb: number; usPerCall: number }> {
  const lifetime = new AbortController();
  const before = heapMb();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    link(lifetime.signal, new AbortController().signal)();
    if (i % 10_000 === 0) await new Promise((r) => setImmediate(r)); // let finalizers run, as a live bridge would
  }
  const usPerCall = ((performance.now() - t0) * 1000) / n;
  await new Promise((r) => setTimeout(r, 100));
  const mb = heapMb() - before;
  lifetime.abort(); // used after the reading: the lifetime (and what it keeps) must still be alive then, as a backend's is
  return { mb, usPerCall };
}

// linkSignals first: what AbortSignal.any keeps is freed only some time after its lifetime goes
const linked = await measure((lifetime, call) => linkSignals([lifetime, call]).unlink);
const any = await measure((lifetime, call) => {
  AbortSignal.any([lifetime, call]);
  return () => undefined;
});
const row = (name: string, r: { mb: number; usPerCall: number }) => [name, r.mb.toFixed(2), ((r.mb * 1_048_576) / n).toFixed(1), r.usPerCall.toFixed(2)];
printTable(`${n} calls linked to one long-lived signal and ended; ${process.version}`, ['way', 'heap kept (MB)', 'bytes per call', 'µs per call'], [row('AbortSignal.any (baseline)', any), row('linkSignals + unlink', linked)]);
