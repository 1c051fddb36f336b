/**
 * The long fuzz run: tests/fuzz/parsers.test.ts with many more runs and a fresh seed (CI runs
 * a fixed seed and 300 runs). A failure prints the seed and the counterexample: add it to the
 * test file as a named case, then fix the parser.
 *
 *   npx tsx bench/fuzz.ts [--runs 20000] [--seed N]
 */
import { spawnSync } from 'node:child_process';
import { argValue as arg } from './stats.js';

const runs = arg('runs') ?? '20000';
const seed = arg('seed') ?? String(Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz: ${runs} runs per property, seed ${seed}`);
const r = spawnSync('npx', ['vitest', 'run', 'tests/fuzz/parsers.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed },
});
console.log(`fuzz: seed ${seed} ${r.status === 0 ? 'passed' : 'FAILED (replay with --seed ' + seed + ')'}`);
process.exit(r.status ?? 1);
