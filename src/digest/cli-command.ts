import { randomUUID } from 'node:crypto';
import { resolveDir, type LoadedConfig } from '../config/load.js';
import { errorMessage } from '../core/errors.js';
import { commandLogger } from '../log/logger.js';
import { TimelineStore } from '../publishers/timeline/store.js';
import { createModelLayer, startModelLayer, stopModelLayer, type ModelLayer } from '../router/model-layer.js';
import type { CliOutcome } from '../router/cli-commands.js';
import { routerGenerate } from '../sources/ask.js';
import { buildDigest } from './build.js';
import { parseDigestRequest } from './service.js';
import { resolvePeriod } from './period.js';

export interface DigestCliOptions {
  camera?: string;
  json?: boolean;
  /** The counts only: no model is loaded. */
  plain?: boolean;
}

/**
 * `sarai digest [period]`: the digest of the timeline in the data folder, as `sarai/digest`
 * would carry it; the text on stdout (or the JSON with --json). Reads the SQLite timeline
 * beside a running bridge (WAL lets both read).
 */
export async function digestCommand(loaded: LoadedConfig, period: string | undefined, opts: DigestCliOptions): Promise<CliOutcome> {
  const config = loaded.config;
  let layer: ModelLayer | undefined;
  let store: TimelineStore | undefined;
  try {
    const req = parseDigestRequest(Buffer.from(JSON.stringify({ ...(period ? { period } : {}), ...(opts.camera ? { camera: opts.camera } : {}) })), config.digest.period);
    const p = resolvePeriod(req.period);
    store = TimelineStore.open(resolveDir(loaded, config.data_dir), config.timeline);
    const counts = store.counts(p.since, p.until, req.camera);
    if (!opts.plain && counts.length > 0) {
      const log = commandLogger(config.log);
      layer = createModelLayer(config, resolveDir(loaded, config.models_dir), log, undefined, { baseDir: loaded.baseDir });
      await startModelLayer(layer);
    }
    const digest = await buildDigest({ id: randomUUID(), period: p, counts, ...(req.camera ? { camera: req.camera } : {}), ...(layer ? { generate: routerGenerate(layer.router) } : {}) });
    process.stdout.write(opts.json ? `${JSON.stringify(digest)}\n` : `${digest.text}\n`);
    if (digest.model_error) process.stderr.write(`sarai: the text model failed (${digest.model_error}); this is the plain digest\n`);
    return { code: 0 };
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    if (opts.json) process.stdout.write(`${JSON.stringify({ error: errorMessage(err), type: name })}\n`);
    process.stderr.write(`sarai: ${name}: ${errorMessage(err)}\n`);
    return { code: 1 };
  } finally {
    store?.close();
    if (layer) await stopModelLayer(layer);
  }
}
