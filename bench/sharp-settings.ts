/**
 * sharp/libvips process settings against the camera prepare step, in one process with the
 * settings switched between interleaved blocks (so other people's load on a shared box hits
 * every setting alike): libvips operation cache on/off and libvips threads per image
 * (sharp.concurrency). Per prepareImage of a 217 KB 1280x720 JPEG to 448 px: CPU of the whole
 * process (all threads), of the event loop alone, and wall time, CPU as means over all
 * blocks (the clocks tick every 10 ms), wall as the median block.
 * The settings are process-wide in sharp, so each is set at the start of its block.
 * Run: npx tsx bench/sharp-settings.ts [--rounds 12] [--block 20]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { prepareImage } from '../src/media/image.js';
import { patternJpeg } from '../tests/camera/helpers.js';
import { percentile, printTable } from './stats.js';

const argv = process.argv.slice(2);
const num = (flag: string, dflt: number): number => {
  const i = argv.indexOf(flag);
  const n = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a whole number >= 1`);
  return n;
};
const ROUNDS = num('--rounds', 12);
const BLOCK = num('--block', 20);
/** sharp's own default (1 on glibc Linux without jemalloc, else the core count) and the cores. */
const DEFAULT_THREADS = sharp.concurrency();
const CORES = os.availableParallelism();
const OTHER_THREADS = DEFAULT_THREADS === 1 ? CORES : 1;

/** CPU ms of this process's main thread (the event loop): /proc/self/task/<pid>/stat. */
function eventLoopCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

interface Setting { name: string; apply: () => void; cpu: number[]; loop: number[]; wall: number[] }
const settings: Setting[] = [
  { name: `cache on, ${DEFAULT_THREADS} thread(s) (sharp default)`, apply: () => { sharp.cache(true); sharp.concurrency(DEFAULT_THREADS); }, cpu: [], loop: [], wall: [] },
  { name: `cache off, ${DEFAULT_THREADS} thread(s)`, apply: () => { sharp.cache(false); sharp.concurrency(DEFAULT_THREADS); }, cpu: [], loop: [], wall: [] },
  { name: `cache on, ${OTHER_THREADS} thread(s)`, apply: () => { sharp.cache(true); sharp.concurrency(OTHER_THREADS); }, cpu: [], loop: [], wall: [] },
  { name: `cache off, ${OTHER_THREADS} thread(s)`, apply: () => { sharp.cache(false); sharp.concurrency(OTHER_THREADS); }, cpu: [], loop: [], wall: [] },
];

const images: Buffer[] = [];
for (let i = 0; i < 8; i++) images.push(await patternJpeg(i + 1, 1280, 720, 80));
const prepare = (img: Buffer) => prepareImage(img, { maxSide: 448, maxBytes: 1 << 30 });
for (const img of images) await prepare(img); // warm up: sharp loaded, code compiled

for (let r = 0; r < ROUNDS; r++) {
  for (const s of settings) {
    s.apply();
    const cpu0 = process.cpuUsage();
    const loop0 = eventLoopCpuMs();
    const t0 = performance.now();
    for (let k = 0; k < BLOCK; k++) await prepare(images[(r * BLOCK + k) % images.length] as Buffer);
    const cpu = process.cpuUsage(cpu0);
    s.wall.push((performance.now() - t0) / BLOCK);
    s.cpu.push((cpu.user + cpu.system) / 1000 / BLOCK);
    s.loop.push((eventLoopCpuMs() - loop0) / BLOCK);
  }
}

const f = (v: number[]) => percentile(v, 50).toFixed(2);
// CPU clocks tick every 10 ms: means over all blocks, not medians of coarse per-block values
const mean = (v: number[]) => (v.reduce((a, b) => a + b, 0) / v.length).toFixed(2);
printTable(
  `prepareImage 1280x720 -> 448 px, ${(images[0] as Buffer).length >> 10} KB JPEGs: ${ROUNDS} interleaved blocks of ${BLOCK}; ms per prepare (CPU: mean, wall: median of blocks)`,
  ['setting', 'process CPU', 'event loop CPU', 'wall'],
  settings.map((s) => [s.name, mean(s.cpu), mean(s.loop), f(s.wall)]),
);
