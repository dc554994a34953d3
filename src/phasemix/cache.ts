import type { Db } from '../catalog/db.js';
import type { EpisodeReadError } from './episode-reader.js';

/**
 * The per-episode phase cache. Tarballs are immutable, so an episode's counts and seconds are kept
 * keyed by relative path, size and mtime: a refresh reads only new or changed files, drops removed
 * ones, and a restart reads none it already has. Failed reads are cached too (with their reason)
 * so a corrupt file is not re-read, and re-logged, on every refresh — until it changes.
 */

export interface CachedEpisode {
  rel: string;
  host: string;
  size: number;
  mtimeMs: number;
  /** `ok` when the labels were read, else why not. */
  status: 'ok' | EpisodeReadError;
  counts: Record<string, number>;
  seconds: Record<string, number>;
  labels: number;
  /**
   * `meta.json` as read, to be stored (when small) with the row. Not kept in memory afterwards
   * nor loaded back: the mix does not need it and 100k of them would weigh on the process.
   */
  meta?: Record<string, unknown> | null;
  /**
   * The file could not be read for a reason of the file system's (`EpisodeContents.transient`):
   * counted as skipped for now, read again at the next refresh, never written to the store.
   */
  retry?: true;
}

/** Where cache entries persist. The service keeps them all in memory and writes through. */
export interface PhaseCacheStore {
  load(): Map<string, CachedEpisode>;
  /**
   * Upserts `put` and deletes `remove`, atomically, now or (SqlitePhaseCache, when another
   * connection holds the write lock) with a later write; changes keep their order either way.
   */
  write(put: readonly CachedEpisode[], remove: readonly string[]): void;
  /** Rows handed to `write` and not stored yet (retry with `write([], [])`). */
  pending?(): number;
}

/** Keeps nothing across restarts (no state dir). */
export class MemoryPhaseCache implements PhaseCacheStore {
  load(): Map<string, CachedEpisode> {
    return new Map();
  }
  write(): void {}
}

/** Distinct phase-count objects shared between entries (beyond that, each keeps its own). */
const MAX_SHARED_COUNTS = 4096;
const sharedCounts = new Map<string, Record<string, number>>();

/**
 * One object for every equal `counts` (most episodes of a lab count the same few labels per
 * phase): a cache of 200,000 entries then holds a handful of counts objects, not 200,000 (about
 * 120 bytes each). Entries never change their counts (a changed tarball gets a new entry).
 */
export function sharedPhaseCounts(
  counts: Record<string, number>,
  json = JSON.stringify(counts),
): Record<string, number> {
  const known = sharedCounts.get(json);
  if (known) return known;
  if (sharedCounts.size < MAX_SHARED_COUNTS) sharedCounts.set(json, counts);
  return counts;
}

/** Larger meta.json objects are not stored in the cache row. */
const MAX_STORED_META_CHARS = 64 * 1024;

interface Row {
  rel_path: string;
  host_id: string;
  size: number;
  mtime_ms: number;
  status: string;
  counts: string | null;
  seconds: string | null;
  labels: number;
}

/** A row as stored (meta serialised when written: the entry drops its meta right after). */
interface PutRow {
  rel_path: string;
  host_id: string;
  size: number;
  mtime_ms: number;
  status: string;
  counts: string;
  seconds: string;
  labels: number;
  meta: string | null;
}

/**
 * How long the main thread may wait for the catalog's write lock (held by the catalog writer or
 * the verifier thread for a transaction at a time): past this the rows wait for the next write.
 * SQLite's busy handler sleeps and retries; with the connection's 5 s timeout a phase-mix write
 * behind a thread writing back-to-back transactions froze the event loop (and /livez) for up to 5 s.
 */
const MAIN_THREAD_BUSY_MS = 25;
/** Rows per transaction: a backlog the write lock held back is written a bit at a time. */
const ROWS_PER_TX = 256;
/**
 * How long one `write` goes on writing a backlog before leaving the rest for the next: 20,000 rows
 * held back during a burst, written in one go, froze the event loop for about a second.
 */
const WRITE_SLICE_MS = 15;

/** The `phase_cache` table of the catalog (schema v1). */
export class SqlitePhaseCache implements PhaseCacheStore {
  private readonly db: Db;
  /** Prepared once: a refresh after a few new episodes is a handful of rows in one transaction. */
  private apply: ((put: readonly PutRow[], remove: readonly string[]) => void) | null = null;
  /** Changes not stored yet (the write lock was busy), in order: puts and removals by rel path. */
  private queuedPut = new Map<string, PutRow>();
  private queuedRemove = new Set<string>();

  constructor(db: Db) {
    this.db = db;
  }

  pending(): number {
    return this.queuedPut.size + this.queuedRemove.size;
  }

  load(): Map<string, CachedEpisode> {
    const rows = this.db
      .prepare('SELECT rel_path, host_id, size, mtime_ms, status, counts, seconds, labels FROM phase_cache')
      .all() as Row[];
    const entries = new Map<string, CachedEpisode>();
    // One string per host, not one per row.
    const hosts = new Map<string, string>();
    for (const row of rows) {
      let host = hosts.get(row.host_id);
      if (host === undefined) {
        host = row.host_id;
        hosts.set(host, host);
      }
      entries.set(row.rel_path, {
        rel: row.rel_path,
        host,
        size: row.size,
        mtimeMs: row.mtime_ms,
        status: row.status as CachedEpisode['status'],
        counts:
          row.counts === null
            ? sharedPhaseCounts({}, '{}')
            : sharedPhaseCounts(parseObject(row.counts) as Record<string, number>, row.counts),
        seconds: parseObject(row.seconds) as Record<string, number>,
        labels: row.labels,
      });
    }
    return entries;
  }

  write(put: readonly CachedEpisode[], remove: readonly string[]): void {
    for (const e of put) {
      this.queuedRemove.delete(e.rel);
      this.queuedPut.set(e.rel, toRow(e));
    }
    for (const rel of remove) {
      this.queuedPut.delete(rel);
      this.queuedRemove.add(rel);
    }
    if (this.pending() === 0) return;
    this.apply ??= this.prepare();
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${MAIN_THREAD_BUSY_MS}`);
    const started = performance.now();
    try {
      while (this.pending() > 0 && performance.now() - started < WRITE_SLICE_MS) {
        const put: PutRow[] = [];
        for (const row of this.queuedPut.values()) {
          if (put.length >= ROWS_PER_TX) break;
          put.push(row);
        }
        const remove: string[] = [];
        for (const rel of this.queuedRemove) {
          if (put.length + remove.length >= ROWS_PER_TX) break;
          remove.push(rel);
        }
        this.apply(put, remove);
        for (const row of put) this.queuedPut.delete(row.rel_path);
        for (const rel of remove) this.queuedRemove.delete(rel);
      }
    } catch (err) {
      // Busy: kept for the next write (the service retries); anything else is the caller's.
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
  }

  private prepare(): (put: readonly PutRow[], remove: readonly string[]) => void {
    const upsert = this.db.prepare(
      `INSERT INTO phase_cache (rel_path, host_id, size, mtime_ms, status, counts, seconds, labels, meta)
       VALUES (@rel_path, @host_id, @size, @mtime_ms, @status, @counts, @seconds, @labels, @meta)
       ON CONFLICT(rel_path) DO UPDATE SET host_id = excluded.host_id, size = excluded.size,
         mtime_ms = excluded.mtime_ms, status = excluded.status, counts = excluded.counts,
         seconds = excluded.seconds, labels = excluded.labels, meta = excluded.meta`,
    );
    const del = this.db.prepare('DELETE FROM phase_cache WHERE rel_path = ?');
    // One transaction for all the rows of a write.
    const apply = this.db.transaction((put: readonly PutRow[], remove: readonly string[]) => {
      for (const row of put) upsert.run(row);
      for (const rel of remove) del.run(rel);
    });
    return (put, remove) => {
      // IMMEDIATE: the write lock is asked for at BEGIN, where a busy answer is clean to retry.
      apply.immediate(put, remove);
    };
  }
}

function toRow(e: CachedEpisode): PutRow {
  const meta = e.meta ? JSON.stringify(e.meta) : null;
  return {
    rel_path: e.rel,
    host_id: e.host,
    size: e.size,
    mtime_ms: e.mtimeMs,
    status: e.status,
    counts: JSON.stringify(e.counts),
    seconds: JSON.stringify(e.seconds),
    labels: e.labels,
    meta: meta !== null && meta.length <= MAX_STORED_META_CHARS ? meta : null,
  };
}

function parseObject(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
