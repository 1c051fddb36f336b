import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import net from 'node:net';

/** Two processes on one data_dir: refused at start, with what to change. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/**
 * Holds `dataDir` for this process. Two SARAi processes on one data_dir would share the
 * timeline database, the input spool (each running and deleting the other's inputs) and the
 * default MQTT client id (the broker would keep kicking one off for the other). The lock is a
 * listening abstract Unix socket named after the folder: the kernel frees it when the process
 * dies, however it dies, so there is no stale lock file and no pid that could be reused.
 * Linux only (abstract sockets); elsewhere it holds nothing.
 */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  if (process.platform !== 'linux') return { release: async () => undefined };
  const name = `\0sarai-data-${createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 32)}`;
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new DataDirInUseError(`data_dir ${dataDir} is in use by another SARAi process on this machine: two processes on one data_dir would share its database, its input spool and its MQTT client id. Give each process (each cluster worker) its own data_dir`)
          : err,
      );
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
