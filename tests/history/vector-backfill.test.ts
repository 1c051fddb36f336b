import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { CameraResult } from '../../src/core/results.js';
import { NoCapableBackendError } from '../../src/router/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { TimelineStore } from '../../src/publishers/timeline/store.js';
import { VectorBackfill, type EmbedTexts } from '../../src/publishers/timeline/vector-backfill.js';

const log = createLogger('silent');
const row = (i: number): CameraResult => ({
  id: `e${i}`, camera: 'driveway', summary: `event ${i}`, description: `event ${i}`, objects: [], alert: false, severity: 'none', event_type: 'other',
  route: 'omni', route_reason: 'test', model: 'test', latency_ms: 0, ts: new Date(1_700_000_000_000 + i * 1000).toISOString(), source: 'mqtt',
});

describe('VectorBackfill: every timeline row gets a vector in sqlite-vec, also those stored while the embedding role was missing', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const open = (): TimelineStore => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'sarai-backfill-'));
    dirs.push(d);
    return new TimelineStore(d, { days: 3650, maxBytes: 1e9 });
  };

  it('no embedding role: waits retryMs, then backfills all rows in order once the role answers; a new model re-embeds', async () => {
    const store = open();
    for (let i = 0; i < 40; i++) store.add(row(i));
    const clock = { now: 0 };
    let available = false;
    let model = 'model-a';
    const calls: number[] = [];
    // the embedding role, as the router would answer: throws without one; a vector per text (its number, one-hot-ish)
    const embed: EmbedTexts = async (texts) => {
      calls.push(texts.length);
      if (!available) throw new NoCapableBackendError('embed: no configured, healthy backend can take embedding');
      return { vectors: texts.map((t) => new Float32Array([1, Number(/event (\d+)/.exec(t)?.[1] ?? 0) / 100, 0.5])), model };
    };
    const b = new VectorBackfill(store, embed, log, { batch: 16, retryMs: 60_000, now: () => clock.now });
    b.kick();
    await b.idle();
    expect(b.lastError).toMatch(/no configured, healthy backend/);
    expect(store.index.vectors).toBeUndefined();
    expect(store.index.backlog()).toBe(40);

    available = true;
    b.kick(); // within retryMs: not tried again
    await b.idle();
    expect(calls).toEqual([16]);
    clock.now = 60_001;
    b.kick();
    await b.idle();
    expect(b.lastError).toBeUndefined();
    expect(calls).toEqual([16, 16, 16, 8]);
    expect(store.index.vectors).toEqual({ model: 'model-a', dim: 3, upTo: 40 });
    expect(store.index.backlog()).toBe(0);

    store.add(row(40));
    b.kick();
    await b.idle();
    expect(store.index.vectors?.upTo).toBe(41);

    // another embedding model: the old vectors are not comparable, all rows are embedded again
    model = 'model-b';
    store.add(row(41));
    b.kick();
    await b.idle();
    expect(store.index.vectors).toMatchObject({ model: 'model-b', dim: 3 });
    expect(store.index.backlog()).toBe(0);
    expect(store.index.vectors?.upTo).toBe(42);
    expect(store.index.nearest(new Float32Array([1, 0.41, 0.5]), 100, {})).toHaveLength(42);
    b.stop();
    store.close();
  });

  it('keyword rows of a timeline written before the index existed are filled in when it opens', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'sarai-backfill-'));
    dirs.push(d);
    let store = new TimelineStore(d, { days: 3650, maxBytes: 1e9 });
    store.add(row(1));
    store.add(row(2));
    store.close();
    // an older timeline file: rows without their keyword index
    const db = new Database(path.join(d, 'timeline', 'timeline.sqlite'));
    db.exec('DROP TRIGGER events_fts_delete; DROP TABLE events_fts;');
    db.close();
    store = new TimelineStore(d, { days: 3650, maxBytes: 1e9 });
    expect(store.index.count(['event'], {})).toBe(2);
    expect(store.index.keyword(['event'], 5, {})).toHaveLength(2);
    store.close();
  });
});
