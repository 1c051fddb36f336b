import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { vi } from 'vitest';

/** What a CLI command printed and its exit code. */
export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);
const CLI = path.resolve('src/cli.ts');
const TSX = path.resolve('node_modules/.bin/tsx');

/** `sarai -c <config> ...args` as a user runs it (through tsx); a non-zero exit is returned, not thrown. */
export async function runCli(config: string, args: string[]): Promise<CliOutput> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, '-c', config, ...args], { timeout: 110_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A CLI command function run in-process, with what it writes to stdout and stderr captured. */
export async function captureOutput(command: () => Promise<{ code: number }>): Promise<CliOutput> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const { code } = await command();
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
