import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Keys whose values never reach the log, wherever they sit in a logged object. */
const SECRET_KEYS = ['password', 'token', 'api_key', 'apiKey', 'authorization', 'access_token', 'SUPERVISOR_TOKEN'];
const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

/** Structured JSON lines on stdout; `module` names the part of the bridge that speaks. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'sarai' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? process.stdout,
  );
}

/** `rtsp://user:pass@host/x` -> `rtsp://***@host/x`: credentials in URLs are never logged or published. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/i, '$1***@');
}
