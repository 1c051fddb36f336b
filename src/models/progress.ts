import type { DownloadProgress } from './download.js';

const MB = 1_048_576;

/**
 * Renders download progress: a redrawn bar on a terminal, plain lines (every 10 % or 5 s)
 * otherwise (add-on logs, CI). Returns the onProgress callback and a `done()` that ends the line.
 */
export function progressReporter(label: string, out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, nowMs: () => number = Date.now) {
  const started = nowMs();
  let lastLineAt = 0;
  let lastDecile = -1;
  let lastDraw = 0;
  let drewBar = false;
  const fmt = (p: DownloadProgress): string => {
    const secs = Math.max(0.001, (nowMs() - started) / 1000);
    const rate = (p.received - p.resumedFrom) / MB / secs;
    const size = p.total ? `${(p.received / MB).toFixed(1)}/${(p.total / MB).toFixed(1)} MB` : `${(p.received / MB).toFixed(1)} MB`;
    return `${size} ${rate.toFixed(1)} MB/s${p.resumedFrom > 0 ? ` (resumed at ${(p.resumedFrom / MB).toFixed(1)} MB)` : ''}`;
  };
  const onProgress = (p: DownloadProgress): void => {
    const pct = p.total ? Math.min(100, Math.floor((p.received / p.total) * 100)) : undefined;
    const now = nowMs();
    if (out.isTTY) {
      if (now - lastDraw < 100 && pct !== 100) return;
      lastDraw = now;
      const width = 30;
      const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
      const bar = pct === undefined ? '' : `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(pct).padStart(3)}% `;
      out.write(`\r${label} ${bar}${fmt(p)}\u001b[K`);
      drewBar = true;
      return;
    }
    const decile = pct === undefined ? -1 : Math.floor(pct / 10);
    if (decile > lastDecile || now - lastLineAt >= 5000) {
      lastDecile = Math.max(lastDecile, decile);
      lastLineAt = now;
      out.write(`${label}: ${pct === undefined ? '' : `${pct}% `}${fmt(p)}\n`);
    }
  };
  const done = (): void => {
    if (drewBar) out.write('\n');
  };
  return { onProgress, done };
}
