import { pino, type Logger as PinoLogger } from 'pino';
import { textLine } from './text-format.js';

export type Logger = PinoLogger;

/** Keys whose values never reach the log, wherever they sit in a logged object. */
const SECRET_KEYS = ['password', 'token', 'api_key', 'apiKey', 'authorization', 'access_token', 'SUPERVISOR_TOKEN'];
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

/** How records are written: JSON lines for log shippers, or text lines for people. */
export type LogFormat = 'json' | 'text';

/**
 * `log.format` resolved: `auto` is text when a person reads the output as it comes (a
 * terminal, or the Home Assistant add-on log panel: the Supervisor sets SUPERVISOR_TOKEN), JSON
 * otherwise (a pipe, a file, a container log shipper).
 */
export function logFormat(setting: 'auto' | LogFormat, env: NodeJS.ProcessEnv = process.env, stream: { isTTY?: boolean } = process.stdout): LogFormat {
  if (setting !== 'auto') return setting;
  return stream.isTTY === true || env['SUPERVISOR_TOKEN'] ? 'text' : 'json';
}

/**
 * Structured records on stdout (or `destination`); `module` names the part of the bridge that
 * speaks. Secrets are redacted before either format is written.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'json'): Logger {
  const out = destination ?? process.stdout;
  const withStack = level === 'debug' || level === 'trace';
  return pino(
    {
      level,
      base: { app: 'sarai' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'text' ? { write: (line: string) => out.write(textLine(line, withStack)) } : out,
  );
}

/** `rtsp://user:pass@host/x` -> `rtsp://***@host/x`: credentials in URLs are never logged or published. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/i, '$1***@');
}

/**
 * A CLI command's logger (ask, describe, digest, models): warnings only (debug when asked) on
 * stderr, so stdout holds just the answer; the format follows `log.format` for stderr.
 */
export function commandLogger(log: { level: string; format: 'auto' | LogFormat }): Logger {
  return createLogger(log.level === 'debug' ? 'debug' : 'warn', process.stderr, logFormat(log.format, process.env, process.stderr));
}
