import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { requireProgram } from './require-program.js';

export interface Mosquitto {
  port: number;
  url: string;
  /** The broker's process id (benches read its CPU time). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** True when the tests can start a real mosquitto (throws under CI when missing). */
export function haveMosquitto(): boolean {
  return requireProgram(MOSQUITTO_BIN) || requireProgram('mosquitto');
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
}

/** Starts Debian's mosquitto (MQTT 5) on a free loopback port with a throwaway config. */
export async function startMosquitto(opts: { maxPacketMb?: number; port?: number } = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-mosq-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true', `message_size_limit ${(opts.maxPacketMb ?? 64) * 1_048_576}`, ''].join('\n'),
  );
  const bin = requireProgram(MOSQUITTO_BIN) ? MOSQUITTO_BIN : 'mosquitto';
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, 5_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
