/**
 * Where the soak's memory goes: each part of the snapshot and ask paths on its own, in its own
 * process, called N times in a row on the tiny real models, with the process's anonymous RSS
 * (malloc'd and V8 memory; /proc/self/status RssAnon) after a forced GC at ten points. A part
 * that leaks climbs to the end; a cache or arena climbs and then levels off. The soak runs
 * them all at once and cannot tell the two apart in an hour.
 *
 *   npx tsx bench/memory-parts.ts              # every part, N = 6000
 *   npx tsx bench/memory-parts.ts --n 20000 --part timeline
 *
 * Parts: image (sharp: check, resize and hash a snapshot), caption (the ONNX captioner in the
 * transformers.js worker, decode included), timeline (SQLite rows, FTS5 and the JPEG BLOB),
 * ask (the tiny GGUF on node-llama-cpp, one chat answer), baseline (the loop alone).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue as arg, printTable, procStatusMb } from './stats.js';

const PARTS = ['baseline', 'image', 'caption', 'timeline', 'ask'] as const;
type Part = (typeof PARTS)[number];
const POINTS = 10;

const n = Number(arg('n') ?? 6000);
if (!(Number.isInteger(n) && n >= POINTS)) throw new Error(`--n must be a whole number of at least ${POINTS}`);
const part = arg('part');
if (part !== undefined && !PARTS.includes(part as Part)) throw new Error(`--part takes ${PARTS.join(', ')}, not ${part}`);

const gc = (globalThis as { gc?: () => void }).gc;

if (process.argv.includes('--child')) await child(part as Part);
else parent();

/** Runs every asked part in its own `node --expose-gc` process and prints one table. */
function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const rows: string[][] = [];
  for (const p of part ? [part as Part] : PARTS) {
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', '--part', p, '--n', String(n)], { encoding: 'utf8', maxBuffer: 16 * 1_048_576 });
    const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
    if (run.status !== 0 || !line) throw new Error(`part ${p} failed (exit ${run.status}): ${run.stderr.slice(-2000)}`);
    const r = JSON.parse(line) as { mb: number[]; msPerCall: number };
    const at = (f: number) => r.mb[Math.round(f * (r.mb.length - 1))] ?? NaN;
    const lastHalf = at(1) - at(0.5);
    rows.push([p, r.msPerCall.toFixed(2), ...r.mb.map((m) => m.toFixed(0)), `${(at(1) - at(0)).toFixed(1)}`, `${lastHalf.toFixed(1)}`]);
  }
  const header = ['part', 'ms/call', ...Array.from({ length: POINTS + 1 }, (_, i) => `${(i * 100) / POINTS}%`), 'growth MB', 'last half MB'];
  printTable(
    `Anonymous RSS (MB, after a forced GC) over ${n} calls per part, each part in its own process; ${os.cpus().length} cores, load average ${(os.loadavg()[0] ?? 0).toFixed(1)}`,
    header,
    rows,
  );
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** One part: set up, then N calls with the RSS taken after a GC at each tenth. Prints one JSON line. */
async function child(p: Part): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `sarai-memparts-${p}-`));
  try {
    const call = await setUp(p, tmp);
    for (let i = 0; i < 20; i++) await call(i); // warm-up: first-call JIT and lazy loads are not growth
    const mb: number[] = [];
    const sample = (): void => {
      gc?.();
      gc?.();
      mb.push(procStatusMb('RssAnon'));
    };
    sample();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await call(i);
      if ((i + 1) % (n / POINTS) < 1) sample();
    }
    const msPerCall = (performance.now() - t0) / n;
    console.log(JSON.stringify({ mb, msPerCall }));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.exit(0); // the transformers worker and llama.cpp threads do not hold the result
}

async function setUp(p: Part, tmp: string): Promise<(i: number) => Promise<unknown>> {
  const { patternJpeg } = await import('../tests/camera/helpers.js');
  const scenes = await Promise.all(Array.from({ length: 12 }, (_, i) => patternJpeg(7000 + i, 320, 240)));
  const scene = (i: number): Buffer => Buffer.from(scenes[i % scenes.length] as Buffer); // a new buffer each time, as from MQTT
  switch (p) {
    case 'baseline':
      return async (i) => scene(i).length;
    case 'image': {
      const { prepareImage } = await import('../src/media/image.js');
      return (i) => prepareImage(scene(i), { maxSide: 64, maxBytes: 10_000_000 });
    }
    case 'caption': {
      const { makeTinyCaptioner } = await import('../tests/fixtures/onnx/index.js');
      const { backendFor } = await import('../tests/backends/transformers-helpers.js');
      const captioner = await makeTinyCaptioner(path.join(tmp, 'captioner'));
      const b = backendFor('vision', { model: captioner.dir, image_size: 64, max_tokens: 8 }, tmp);
      return (i) => b.generate({ messages: [{ role: 'user', content: 'describe' }], images: [scene(i)] });
    }
    case 'timeline': {
      const { TimelineStore } = await import('../src/publishers/timeline/store.js');
      const store = TimelineStore.open(tmp, { retention_days: 30, max_mb: 500 });
      const jpeg = scenes[0] as Buffer;
      return async (i) =>
        store.add(
          { id: `r${i}`, camera: `cam${i % 4}`, ts: new Date().toISOString(), alert: i % 7 === 0, summary: `a person walks to door ${i % 50} with a parcel`, objects: ['person'], severity: 'low' } as never,
          Buffer.from(jpeg),
        );
    }
    case 'ask': {
      const { LlamaBackend } = await import('../src/backends/llama/backend.js');
      const { silentLog, spec, testConfig } = await import('../tests/backends/llama-helpers.js');
      const { tinyLlamaFile } = await import('../tests/fixtures/gguf/tiny-llama.js');
      const config = testConfig({ tiny: { backend: 'llama', gguf_file: 'tiny.gguf', max_tokens: 4, context_length: 1024 } });
      const b = new LlamaBackend({ role: 'tiny', spec: spec(config, 'tiny'), modelPath: tinyLlamaFile(path.join(tmp, 'tiny.gguf')), runtime: config.runtime, log: silentLog });
      return (i) => b.generate({ messages: [{ role: 'user', content: `turn on the kitchen light ${i % 10}` }] });
    }
  }
}
