import { spawnSync } from 'node:child_process';

/**
 * True when `program` is on PATH. On a user's machine a missing program skips its tests;
 * under CI (CI=true) it is a failure, because .ci/run must have installed it.
 */
export function requireProgram(program: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${JSON.stringify(program)}`], { encoding: 'utf8' }).status === 0;
  if (!found && process.env['CI'] === 'true') {
    throw new Error(`${program} is required under CI but is not installed (.ci/run should install it)`);
  }
  return found;
}
