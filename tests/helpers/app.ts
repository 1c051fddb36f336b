import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import { configFromObject } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';

/** Log lines a test app wrote, parsed; with `keep`, only the newest `keep` (a long run must not hoard them). */
export class LogSink extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  constructor(private readonly keep = Infinity) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const l of chunk.toString().split('\n')) if (l.trim()) this.lines.push(JSON.parse(l) as Record<string, unknown>);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    cb();
  }
}

export interface TestApp {
  app: App;
  logs: LogSink;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Builds and starts a bridge from a small config object (defaults filled in by the schema),
 * with its data in a temp dir, HTTP on a free port and Wyoming off unless asked.
 */
export async function startTestApp(
  raw: Record<string, unknown>,
  opts: { dataDir?: string; keepDataDir?: boolean; beforeStart?: (app: App) => void; logLevel?: 'trace' | 'debug' | 'warn'; keepLogLines?: number } = {},
): Promise<TestApp> {
  // a given dataDir is a restart of the same installation (same MQTT client id and session)
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'sarai-app-'));
  const doc = {
    data_dir: dataDir,
    models_dir: path.join(dataDir, 'models'),
    http: { host: '127.0.0.1', port: 0 },
    wyoming: { enabled: false },
    models: {},
    ...raw,
  };
  const config = configFromObject(doc, 'test');
  const logs = new LogSink(opts.keepLogLines);
  const app = createApp({ config, source: 'test', baseDir: dataDir }, { log: createLogger(opts.logLevel ?? 'debug', logs) });
  opts.beforeStart?.(app);
  await app.start();
  return {
    app,
    logs,
    dataDir,
    async stop() {
      await app.stop();
      if (!opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
