import { spawnSync } from 'node:child_process';
import { underCI } from './ci.js';

/**
 * True when `program` is on PATH. On a user's machine a missing program skips its tests;
 * under CI (CI=true, CI=1, …) it is a failure, because .ci/run must have installed it.
 */
export function requireProgram(program: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${JSON.stringify(program)}`], { encoding: 'utf8' }).status === 0;
  if (!found && underCI()) {
    throw new Error(`${program} is required under CI but is not installed (.ci/run should install it)`);
  }
  return found;
}
