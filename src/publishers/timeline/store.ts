import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../../config/schema/index.js';
import type { CameraResult } from '../../core/results.js';
import { EventIndex } from './event-index.js';

export interface EventQuery {
  camera?: string;
  /** ms since epoch, inclusive. */
  since?: number;
  /** ms since epoch, exclusive. */
  until?: number;
  alertsOnly: boolean;
  limit: number;
  /** Cursor: only events older than this sequence number. */
  before?: number;
}

export interface StoredEvent {
  seq: number;
  result: CameraResult;
  hasSnapshot: boolean;
}

/** One camera's events in a period, counted by SQLite (a digest's numbers never come from a model). */
export interface CameraCounts {
  camera: string;
  events: number;
  alerts: number;
  /** Object label -> events that saw it. */
  objects: Record<string, number>;
  /** The newest summaries, newest first (context for the digest's prose). */
  latest: { ts: string; summary: string }[];
}

export interface RetentionLimits {
  days: number;
  maxBytes: number;
}

/** An event row with whether its snapshot is stored: one column list for every read. */
const EVENT_ROWS = 'SELECT seq, result, EXISTS(SELECT 1 FROM snapshots s WHERE s.seq = e.seq) AS snap FROM events e';
interface EventRow {
  seq: number;
  result: string;
  snap: number;
}
const toEvent = (r: EventRow): StoredEvent => ({ seq: r.seq, result: JSON.parse(r.result) as CameraResult, hasSnapshot: r.snap === 1 });

/**
 * The camera timeline: results and the JPEG each was made from, in one SQLite file
 * (better-sqlite3 12) under the data folder.
 *
 * Snapshots are BLOBs in their own table rather than files: one file to back up, a result and
 * its image are written and deleted in one transaction (no orphans after a crash), size
 * retention is a SUM over a column, and no file path is ever built from an id. Freed pages are
 * reused by SQLite, so the file stops growing at about timeline.max_mb.
 */
export class TimelineStore {
  private readonly db: Database.Database;
  private totalBytes = 0;
  private readonly stmts;
  /** Keyword (FTS5) and vector (sqlite-vec) retrieval over the same rows. */
  readonly index: EventIndex;

  /** The bridge's timeline under `dataDir`, with the retention of config's `timeline:` section. */
  static open(dataDir: string, t: Pick<Config['timeline'], 'retention_days' | 'max_mb'>): TimelineStore {
    return new TimelineStore(dataDir, { days: t.retention_days, maxBytes: Math.round(t.max_mb * 1_048_576) });
  }

  constructor(dataDir: string, private readonly limits: RetentionLimits) {
    const dir = path.join(dataDir, 'timeline');
    mkdirSync(dir, { recursive: true });
    this.db = new Database(path.join(dir, 'timeline.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        camera TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        alert INTEGER NOT NULL,
        result TEXT NOT NULL,
        bytes INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS events_camera_seq ON events(camera, seq);
      CREATE INDEX IF NOT EXISTS events_ts ON events(ts_ms);
      CREATE INDEX IF NOT EXISTS events_alert_seq ON events(seq) WHERE alert = 1;
      CREATE TABLE IF NOT EXISTS snapshots (
        seq INTEGER PRIMARY KEY REFERENCES events(seq) ON DELETE CASCADE,
        jpeg BLOB NOT NULL
      );
    `);
    this.index = new EventIndex(this.db);
    this.stmts = {
      insert: this.db.prepare('INSERT OR IGNORE INTO events (id, camera, ts_ms, alert, result, bytes) VALUES (?, ?, ?, ?, ?, ?)'),
      insertSnap: this.db.prepare('INSERT INTO snapshots (seq, jpeg) VALUES (?, ?)'),
      byId: this.db.prepare(`${EVENT_ROWS} WHERE id = ?`),
      snapshot: this.db.prepare('SELECT s.jpeg FROM snapshots s JOIN events e ON e.seq = s.seq WHERE e.id = ?'),
      deleteOld: this.db.prepare('DELETE FROM events WHERE ts_ms < ?'),
      oldest: this.db.prepare('SELECT seq, bytes FROM events ORDER BY seq LIMIT 500'),
      deleteUpTo: this.db.prepare('DELETE FROM events WHERE seq <= ?'),
      total: this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS n FROM events'),
    };
    this.totalBytes = (this.stmts.total.get() as { n: number }).n;
  }

  /** Bytes kept (results + snapshots), as counted for timeline.max_mb. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Stores a result (idempotent by result id) and its JPEG; then applies retention. */
  add(result: CameraResult, jpeg?: Buffer): void {
    const json = JSON.stringify(result);
    const bytes = Buffer.byteLength(json) + (jpeg?.length ?? 0);
    const tsMs = Date.parse(result.ts);
    this.db.transaction(() => {
      const info = this.stmts.insert.run(result.id, result.camera, Number.isFinite(tsMs) ? tsMs : Date.now(), result.alert ? 1 : 0, json, bytes);
      if (info.changes === 0) return;
      if (jpeg) this.stmts.insertSnap.run(info.lastInsertRowid, jpeg);
      this.index.addText(Number(info.lastInsertRowid), result);
      this.totalBytes += bytes;
    })();
    if (this.totalBytes > this.limits.maxBytes) this.enforceSize();
  }

  /** Deletes events older than retention_days, then trims to max size. */
  applyRetention(now = Date.now()): void {
    const info = this.stmts.deleteOld.run(now - this.limits.days * 86_400_000);
    if (info.changes > 0) this.totalBytes = (this.stmts.total.get() as { n: number }).n;
    if (this.totalBytes > this.limits.maxBytes) this.enforceSize();
  }

  /** Oldest first until under 90% of the bound (so it does not trim on every insert). */
  private enforceSize(): void {
    const target = this.limits.maxBytes * 0.9;
    while (this.totalBytes > target) {
      const rows = this.stmts.oldest.all() as { seq: number; bytes: number }[];
      if (rows.length === 0) break;
      let freed = 0;
      let upTo = 0;
      for (const r of rows) {
        freed += r.bytes;
        upTo = r.seq;
        if (this.totalBytes - freed <= target) break;
      }
      this.stmts.deleteUpTo.run(upTo);
      this.totalBytes -= freed;
    }
  }

  /** Newest first. Only fixed SQL fragments; every value is a bound parameter. */
  list(q: EventQuery): StoredEvent[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.camera !== undefined) {
      where.push('camera = ?');
      args.push(q.camera);
    }
    if (q.since !== undefined) {
      where.push('ts_ms >= ?');
      args.push(q.since);
    }
    if (q.until !== undefined) {
      where.push('ts_ms < ?');
      args.push(q.until);
    }
    if (q.alertsOnly) where.push('alert = 1');
    if (q.before !== undefined) {
      where.push('seq < ?');
      args.push(q.before);
    }
    // Pick the page's row numbers first (indexes only), then read those rows' JSON: a date
    // range otherwise sorts every matching row, JSON included, before taking the page.
    const page = `SELECT seq FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const sql = `${EVENT_ROWS} WHERE seq IN (${page}) ORDER BY seq DESC`;
    args.push(q.limit);
    return (this.db.prepare(sql).all(...args) as EventRow[]).map(toEvent);
  }

  /** The events with these sequence numbers, in the order given (missing ones skipped). */
  bySeq(seqs: number[]): StoredEvent[] {
    if (seqs.length === 0) return [];
    const rows = this.db
      .prepare(`${EVENT_ROWS} WHERE seq IN (${seqs.map(() => '?').join(',')})`)
      .all(...seqs) as EventRow[];
    const by = new Map(rows.map((r) => [r.seq, toEvent(r)]));
    return seqs.flatMap((s) => by.get(s) ?? []);
  }

  /** Per camera counts of events in [since, until), cameras with none left out; one camera when given. */
  counts(since: number, until: number, camera?: string, latest = 5): CameraCounts[] {
    const cam = camera === undefined ? '' : ' AND camera = ?';
    const args: (string | number)[] = camera === undefined ? [since, until] : [since, until, camera];
    const totals = this.db
      .prepare(`SELECT camera, COUNT(*) AS events, SUM(alert) AS alerts FROM events WHERE ts_ms >= ? AND ts_ms < ?${cam} GROUP BY camera ORDER BY camera`)
      .all(...args) as { camera: string; events: number; alerts: number }[];
    // an object seen twice in one event counts once for that event
    const objects = this.db
      .prepare(
        `SELECT camera, label, COUNT(*) AS n FROM (SELECT DISTINCT e.seq, e.camera, lower(j.value) AS label FROM events e, json_each(e.result, '$.objects') j
         WHERE e.ts_ms >= ? AND e.ts_ms < ?${cam.replace('camera', 'e.camera')} AND j.type = 'text') GROUP BY camera, label ORDER BY camera, n DESC, label`,
      )
      .all(...args) as { camera: string; label: string; n: number }[];
    // labels are the model's words: entries, not property writes (a "__proto__" label stays a label)
    const byCamera = new Map<string, [string, number][]>();
    for (const o of objects) {
      const list = byCamera.get(o.camera);
      if (list) list.push([o.label, o.n]);
      else byCamera.set(o.camera, [[o.label, o.n]]);
    }
    const newest = this.db.prepare("SELECT json_extract(result, '$.ts') AS ts, json_extract(result, '$.summary') AS summary FROM events WHERE camera = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms DESC LIMIT ?");
    return totals.map((t) => ({
      camera: t.camera,
      events: t.events,
      alerts: t.alerts,
      objects: Object.fromEntries(byCamera.get(t.camera) ?? []),
      latest: (newest.all(t.camera, since, until, latest) as { ts: string; summary: string | null }[]).map((r) => ({ ts: r.ts, summary: r.summary ?? '' })),
    }));
  }

  get(id: string): StoredEvent | undefined {
    const r = this.stmts.byId.get(id) as EventRow | undefined;
    return r ? toEvent(r) : undefined;
  }

  snapshot(id: string): Buffer | undefined {
    const r = this.stmts.snapshot.get(id) as { jpeg: Buffer } | undefined;
    return r?.jpeg;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
