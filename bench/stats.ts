/** Small helpers shared by the bench scripts. */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** The value after `--name` on the command line, if given. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A `kB` line of /proc/self/status (RssAnon, RssFile, ...) in MB; NaN where there is none. */
export function procStatusMb(key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Every core's CPU times now, to pass to cpuBusySince. */
export function cpuSample(): os.CpuInfo['times'][] {
  return os.cpus().map((c) => c.times);
}

/** The machine's busy share of all cores since `from` (every process, not just this one). */
export function cpuBusySince(from: os.CpuInfo['times'][]): number {
  let idle = 0;
  let total = 0;
  cpuSample().forEach((t, i) => {
    const p = from[i];
    if (!p) return;
    idle += t.idle - p.idle;
    total += t.user - p.user + (t.nice - p.nice) + (t.sys - p.sys) + (t.idle - p.idle) + (t.irq - p.irq);
  });
  return total ? 1 - idle / total : 0;
}

/** CPU time (user + system, ms) a process has used so far, from /proc (NaN if unreadable). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // fields after the parenthesised command name: utime and stime are the 12th and 13th
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (ms) of each thread of this process, keyed `<tid>:<thread name>` (empty off Linux). */
export function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${tid}:${name}`, ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** `n` timed calls of `fn` after one warm-up call: each call's ms, and the event loop's utilization over them. */
export async function timeIt(fn: () => Promise<unknown>, n: number): Promise<{ times: number[]; elu: number }> {
  await fn(); // warm-up
  const times: number[] = [];
  const before = performance.eventLoopUtilization();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { times, elu: performance.eventLoopUtilization(before).utilization };
}
