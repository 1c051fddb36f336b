import type Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import type { CameraResult } from '../../core/results.js';

/** A time range and camera that every history query is limited to (ms since epoch; until exclusive). */
export interface HistoryScope {
  since?: number;
  until?: number;
  camera?: string;
}

export interface IndexedRow {
  seq: number;
  text: string;
}

/** What the vectors beside the rows were made with; a different model or size means re-embedding. */
export interface VectorMeta {
  model: string;
  dim: number;
  /** Rows with seq <= this have a vector (rows are embedded in seq order). */
  upTo: number;
}

/** The text an event is found by: summary, description, objects and camera name. */
export function eventText(r: CameraResult): string {
  const objects = Array.isArray(r.objects) && r.objects.length ? ` Objects: ${r.objects.join(', ')}.` : '';
  return `${r.summary}. ${r.description}${objects} Camera: ${r.camera.replace(/_/g, ' ')}.`.slice(0, 4_000);
}

/** Largest k asked of the vector index (sqlite-vec's own limit is 4096). */
export const MAX_K = 200;

/**
 * Retrieval over the timeline, in the timeline's own SQLite file: an FTS5 keyword index that
 * every row gets on insert, and a sqlite-vec `vec0` table of description embeddings filled in
 * the background (events without a vector are backfilled in seq order). Deletes reach both by
 * triggers, so retention needs no extra code. Time and camera are vec0 metadata columns: a
 * KNN query filters inside the index instead of over-fetching and dropping rows.
 */
export class EventIndex {
  private readonly stmts;
  private meta?: VectorMeta;

  constructor(private readonly db: Database.Database) {
    sqliteVec.load(db);
    db.exec(`
      CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(body, tokenize = 'porter unicode61');
      CREATE TABLE IF NOT EXISTS vector_meta (k INTEGER PRIMARY KEY CHECK (k = 1), model TEXT NOT NULL, dim INTEGER NOT NULL, up_to INTEGER NOT NULL);
      CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.seq; END;
    `);
    // rows stored before the keyword index existed (an older timeline file)
    db.exec(`INSERT INTO events_fts (rowid, body)
      SELECT seq, json_extract(result, '$.summary') || '. ' || json_extract(result, '$.description') || ' Objects: ' || COALESCE((SELECT group_concat(value, ', ') FROM json_each(result, '$.objects')), '') || '. Camera: ' || replace(camera, '_', ' ')
      FROM events WHERE seq > COALESCE((SELECT MAX(rowid) FROM events_fts), 0)`);
    this.stmts = {
      fts: db.prepare('INSERT INTO events_fts (rowid, body) VALUES (?, ?)'),
      pending: db.prepare('SELECT seq, result FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      pendingCount: db.prepare('SELECT COUNT(*) AS n FROM events WHERE seq > ?'),
      meta: db.prepare('SELECT model, dim, up_to AS upTo FROM vector_meta WHERE k = 1'),
      saveMeta: db.prepare('INSERT INTO vector_meta (k, model, dim, up_to) VALUES (1, ?, ?, ?) ON CONFLICT(k) DO UPDATE SET model = excluded.model, dim = excluded.dim, up_to = excluded.up_to'),
    };
    this.meta = this.stmts.meta.get() as VectorMeta | undefined;
  }

  /** Called inside the insert transaction of a new event. */
  addText(seq: number, result: CameraResult): void {
    this.stmts.fts.run(seq, eventText(result));
  }

  /** The vector model and how far the backfill got; undefined before the first vector. */
  get vectors(): VectorMeta | undefined {
    return this.meta;
  }

  /** Up to `limit` events without a vector, oldest first (the backfill's next batch). */
  unembedded(limit: number): IndexedRow[] {
    const rows = this.stmts.pending.all(this.meta?.upTo ?? 0, limit) as { seq: number; result: string }[];
    return rows.map((r) => ({ seq: r.seq, text: eventText(JSON.parse(r.result) as CameraResult) }));
  }

  /** Events still waiting for a vector. */
  backlog(): number {
    return (this.stmts.pendingCount.get(this.meta?.upTo ?? 0) as { n: number }).n;
  }

  /**
   * Stores vectors for `rows` (same order) made by `model`. A new model or vector size drops
   * the old vectors (they are not comparable) and this batch, and the backfill starts again
   * from the first row.
   */
  putVectors(model: string, rows: IndexedRow[], vectors: Float32Array[]): void {
    const first = vectors[0];
    if (!first || rows.length === 0) return;
    const dim = first.length;
    if (dim < 1 || dim > 8192) throw new Error(`embedding of ${dim} dimensions is out of range`);
    if (vectors.length !== rows.length || vectors.some((v) => v.length !== dim)) throw new Error('embedding returned vectors of mixed sizes or count');
    this.db.transaction(() => {
      if (!this.meta || this.meta.model !== model || this.meta.dim !== dim) {
        const fresh = this.meta?.upTo === undefined;
        this.resetVectors(model, dim);
        // a new model: this batch came after the old cursor; start again from the first row
        if (!fresh) return;
      }
      const ins = this.db.prepare('INSERT OR REPLACE INTO event_vectors (seq, ts_ms, camera, embedding) SELECT seq, ts_ms, camera, ? FROM events WHERE seq = ?');
      for (let i = 0; i < rows.length; i++) ins.run(vectors[i], BigInt((rows[i] as IndexedRow).seq));
      const upTo = Math.max(this.meta?.upTo ?? 0, ...rows.map((r) => r.seq));
      this.stmts.saveMeta.run(model, dim, upTo);
      this.meta = { model, dim, upTo };
    })();
  }

  private resetVectors(model: string, dim: number): void {
    this.db.exec(`
      DROP TRIGGER IF EXISTS events_vec_delete;
      DROP TABLE IF EXISTS event_vectors;
      CREATE VIRTUAL TABLE event_vectors USING vec0(seq INTEGER PRIMARY KEY, ts_ms INTEGER, camera TEXT, embedding float[${dim}] distance_metric=cosine);
      CREATE TRIGGER events_vec_delete AFTER DELETE ON events BEGIN DELETE FROM event_vectors WHERE seq = old.seq; END;
    `);
    this.stmts.saveMeta.run(model, dim, 0);
    this.meta = { model, dim, upTo: 0 };
  }

  /** Nearest events to `query` by cosine distance, within the scope; [] without vectors. */
  nearest(query: Float32Array, k: number, scope: HistoryScope): { seq: number; distance: number }[] {
    if (!this.meta || query.length !== this.meta.dim) return [];
    // vec0 filters on its own metadata columns (unprefixed) inside the KNN search
    const { sql, args } = scoped(scope, '');
    return this.db
      .prepare(`SELECT seq, distance FROM event_vectors WHERE embedding MATCH ? AND k = ? ${sql} ORDER BY distance`)
      .all(query, Math.min(Math.max(1, k), MAX_K), ...args) as { seq: number; distance: number }[];
  }

  /** Best keyword matches (FTS5 bm25) for any of `words`, within the scope. */
  keyword(words: string[], k: number, scope: HistoryScope): number[] {
    const match = ftsQuery(words);
    if (!match) return [];
    const { sql, args } = scoped(scope);
    const rows = this.db
      .prepare(`SELECT f.rowid AS seq FROM events_fts f JOIN events e ON e.seq = f.rowid WHERE events_fts MATCH ? ${sql} ORDER BY f.rank LIMIT ?`)
      .all(match, ...args, Math.min(Math.max(1, k), MAX_K)) as { seq: number }[];
    return rows.map((r) => r.seq);
  }

  /** Exact number of events in scope mentioning any of `words` (all events when words is empty). */
  count(words: string[], scope: HistoryScope): number {
    const { sql, args } = scoped(scope);
    if (words.length === 0) {
      return (this.db.prepare(`SELECT COUNT(*) AS n FROM events e WHERE 1 = 1 ${sql}`).get(...args) as { n: number }).n;
    }
    const match = ftsQuery(words);
    if (!match) return 0;
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM events_fts f JOIN events e ON e.seq = f.rowid WHERE events_fts MATCH ? ${sql}`).get(match, ...args) as { n: number }).n;
  }

  /** Newest events in scope mentioning any of `words` (any event when empty). */
  newest(words: string[], k: number, scope: HistoryScope): number[] {
    const { sql, args } = scoped(scope);
    const limit = Math.min(Math.max(1, k), MAX_K);
    if (words.length === 0) {
      return (this.db.prepare(`SELECT seq FROM events e WHERE 1 = 1 ${sql} ORDER BY seq DESC LIMIT ?`).all(...args, limit) as { seq: number }[]).map((r) => r.seq);
    }
    const match = ftsQuery(words);
    if (!match) return [];
    return (
      this.db.prepare(`SELECT e.seq FROM events_fts f JOIN events e ON e.seq = f.rowid WHERE events_fts MATCH ? ${sql} ORDER BY e.seq DESC LIMIT ?`).all(match, ...args, limit) as { seq: number }[]
    ).map((r) => r.seq);
  }
}

/** Fixed SQL fragments for the scope (columns of table alias `prefix`); every value a bound parameter. */
function scoped(scope: HistoryScope, prefix = 'e.'): { sql: string; args: (number | string)[] } {
  const parts: string[] = [];
  const args: (number | string)[] = [];
  if (scope.since !== undefined) {
    parts.push(`AND ${prefix}ts_ms >= ?`);
    args.push(scope.since);
  }
  if (scope.until !== undefined) {
    parts.push(`AND ${prefix}ts_ms < ?`);
    args.push(scope.until);
  }
  if (scope.camera !== undefined) {
    parts.push(`AND ${prefix}camera = ?`);
    args.push(scope.camera);
  }
  return { sql: parts.join(' '), args };
}

/**
 * An FTS5 query OR-ing the words, each a quoted string of letters and digits only, so no
 * word from a question can be read as FTS syntax (NEAR, column filters, '*').
 */
export function ftsQuery(words: string[]): string {
  const clean = [...new Set(words.map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')).filter((w) => w.length > 0))].slice(0, 24);
  return clean.map((w) => `"${w}"`).join(' OR ');
}
