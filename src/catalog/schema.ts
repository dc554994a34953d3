// The driver's type, not db.ts's alias: db.ts runs these migrations (no import cycle).
import type Database from 'better-sqlite3';
import { catalogSha256 } from '../protocol/episode-filter.js';
import { FILL_ALERT_GROUPS } from './alert-groups.js';
import { defaultRelPathSql } from './disk-sync-paths.js';

type Db = Database.Database;

/**
 * How many characters of a sha256 its index keeps (SHA_KEY): a prefix up to that long is a range
 * of the index alone, a longer one that range (≈ 1 row in a million) checked on the row. Keys of
 * 16 characters, not 64: the index's build (a sort of every row's key) took ≈ 25% less CPU and
 * it is half as many pages (offline, 1M-line foreign root: 2,853 against 5,694 pages).
 */
export const SHA_KEY_CHARS = 16;
export const SHA_KEY = `substr(sha256, 1, ${SHA_KEY_CHARS})`;

/**
 * The secondary indexes of `episodes` (the unique key on episode_id aside), each serving an
 * explorer query (checked with EXPLAIN QUERY PLAN in episodes-query.test.ts). A cold bulk load
 * drops them and builds them again once its rows are in (a sort is far cheaper than keeping
 * random-order indexes through a million inserts); the writer makes sure they exist at start
 * (`IF NOT EXISTS`), so a load cut short by a crash never leaves the explorer without them.
 */
export const EPISODE_INDEXES: readonly string[] = [
  // Default order (newest first) without a host or status filter; host, status and size ride
  // along so counts and facets over a time range read this index alone.
  'CREATE INDEX episodes_by_time ON episodes(received_ms, host_id, status, size_bytes)',
  // Default order per host and status partition, a status without a host filter as each host's
  // range of it (merged by time); `sort=host` reads a host's statuses from it, `sort=status` a
  // status's hosts. The size rides along so a size filter is checked in the index: facets of a
  // size filter count each host and status range here, never a row (facets of `min_size`
  // matching half of 1M rows: 4.3 s through the size index and each row's status, ≈ 0.09 s here;
  // the index is 12% larger). `id` is named before it so the index still gives a range in page
  // order (received_ms, then id) with no sort of ties.
  'CREATE INDEX episodes_by_host_status_time ON episodes(host_id, status, received_ms, id, size_bytes)',
  // `q` as a sha256 prefix: a range of this index (on SHA_KEY); time and host ride along, so the
  // newest matches (of a host) are found without reading the rows.
  `CREATE INDEX episodes_by_sha ON episodes(${SHA_KEY}, received_ms, host_id)`,
  // Size filters matching few rows, and `sort=size` (a few rows per size, put in id order); the
  // host rides along so `host` + a size sort or filter is checked in the index, not per row.
  'CREATE INDEX episodes_by_size ON episodes(size_bytes, received_ms, host_id)',
];

/**
 * How a row keeps what its columns would repeat (v7; every reader of `episodes` goes through
 * these, and a row written before v7 — the full texts — reads the same):
 * - `received_at` is NULL when it is the canonical text of `received_ms` (`isoFromMs`, as the
 *   record's parser writes it; `episodeFromRow` gives the text back);
 * - `path` is an empty BLOB when the line's path is its default place,
 *   `episodes/<host_id>/<episode_id>.tar.zst` (`EPISODE_PATH` gives the text back; NULL is still a
 *   line without a path, and a text any other path);
 * - `first_seen_at` is '' and the commit time is kept once per batch in `episode_batches`.
 * Each index build reads the whole table: on the 1M-line foreign root the table fell from 19,524
 * to 13,652 pages of 16 KiB.
 */
export const EPISODE_PATH = `CASE WHEN typeof(path) = 'blob' THEN ${defaultRelPathSql('host_id', 'episode_id')} ELSE path END`;

/**
 * `sync_state` row present while a cold bulk load commits without syncing (persist-worker.ts): a
 * start that finds it checks the catalog's integrity before trusting it.
 */
export const UNSYNCED_LOAD = 'unsynced_load';

/**
 * The file a cold bulk load began on at byte 0 (no index checkpoint before it), as its first
 * batch's checkpoint named it: one row, from the load's first commit until its indexes are built
 * and its held lines applied (persist-worker.ts). Unlike UNSYNCED_LOAD, a stop does not clear it:
 * a start that finds it drops what the load had committed and loads the index cold again, when
 * the file at the path is still that file (bulk-load-reset.ts). Made by the load, dropped at its end.
 */
export const BULK_LOAD_TABLE = `CREATE TABLE IF NOT EXISTS bulk_load (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  fingerprint_len INTEGER NOT NULL
)`;

/** Indexes of earlier versions that no query uses any more: the writer drops them at start. */
export const RETIRED_EPISODE_INDEXES: readonly string[] = [
  // v2's 256-group sha index (`substr(sha256, 1, 2)`): a prefix then scanned its group's rows.
  'episodes_by_sha_group',
  // `sort=status` by (status, row id): a build of ≈ 0.3 s at 1M rows after a bulk load; the
  // status's time index serves it (ties by received time).
  'episodes_order_status',
  // `sort=host` by (host, row id): a build of ≈ 0.35 s at 1M rows after a bulk load (≈ 12% of the
  // catalog's time from rows to indexed) and a fourth random leaf per live row; a host's rows are
  // ranges of `episodes_by_host_status_time` per status (ties by received time).
  'episodes_order_host',
  // A status's rows by time (status, received time): a build of ≈ 0.6 s at 1M rows after a bulk
  // load (rows → indexed, python root, three alternating pairs: 3.05 → 2.37 s median) and a leaf
  // per live row; a status is each host's range of `episodes_by_host_status_time`, merged.
  'episodes_by_status_time',
];

/**
 * The unique key on `episode_id` as an index of its own. A catalog's table made by migration v1
 * declares the key inline (`episode_id TEXT NOT NULL UNIQUE`: SQLite's `sqlite_autoindex_episodes_1`,
 * which cannot be dropped). A cold bulk load makes the empty table again without it
 * (EPISODES_KEYLESS_TABLE) and builds this index with the others once its rows are in: kept up to
 * date through a million inserts of random ids (a receiver's UUIDs), the inline key cost the
 * writer ≈ 4 s of its ≈ 6 s for the rows of the 1M-line foreign root (offline, load 3), a sort
 * after it ≈ 0.5 s. Either key serves `ON CONFLICT(episode_id)` and the lookups by id.
 */
export const EPISODE_KEY_INDEX = 'CREATE UNIQUE INDEX episodes_by_id ON episodes(episode_id)';
export const EPISODE_KEY_NAME = indexName(EPISODE_KEY_INDEX);

/** The inline unique key in `episodes`' definition as migration v1 wrote it (SQLite keeps that text). */
const INLINE_EPISODE_KEY = /\bepisode_id TEXT NOT NULL UNIQUE\b/;

/**
 * `episodes` made again, empty, without its inline unique key (EPISODE_KEY_INDEX holds it then):
 * the table's own definition as SQLite keeps it — every migration's columns included — less the
 * key, so there is one text of the table, the migrations'.
 */
function remakeEpisodesKeyless(db: Db): void {
  const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'episodes'").get() as
    | { sql: string }
    | undefined;
  const keyless = row?.sql.replace(INLINE_EPISODE_KEY, 'episode_id TEXT NOT NULL');
  if (keyless === undefined || keyless === row?.sql) {
    throw new Error(`episodes' definition has no inline key to take out: ${row?.sql ?? '(no table)'}`);
  }
  db.exec('DROP TABLE episodes');
  db.exec(keyless);
}

/**
 * Lines a bulk load held back because their id's hash was seen earlier in the load (the table
 * has no key to ask then): written with the batch that read them, so a crash keeps them, and
 * applied once the key is built (a repeat bumps its episode; a different id that shared the hash
 * is inserted). Made by the bulk load; emptied at its end, or by the writer's next start.
 */
export const BULK_REPEATS_TABLE = `CREATE TABLE IF NOT EXISTS bulk_repeats (
        id INTEGER PRIMARY KEY,
        episode_id TEXT NOT NULL,
        row TEXT                          -- JSON of the line's columns; NULL: a known repeat
      )`;

/**
 * A cold bulk load into the empty table begins (in the caller's transaction): the secondary
 * indexes and the unique key go, to be built once the rows are in (`ensureEpisodeIndexes`); a
 * table made with its key inline is made again without it.
 */
export function dropEpisodeIndexesForLoad(db: Db): void {
  for (const name of [...EPISODE_INDEX_NAMES, EPISODE_KEY_NAME]) db.exec(`DROP INDEX IF EXISTS ${name}`);
  if (hasInlineEpisodeKey(db)) remakeEpisodesKeyless(db);
}

/** True when `episodes` carries its unique key inline (a table made by migration v1). */
export function hasInlineEpisodeKey(db: Db): boolean {
  return (db.prepare('PRAGMA index_list(episodes)').all() as Array<{ origin: string }>).some(
    (r) => r.origin === 'u',
  );
}

/**
 * A table left without its unique key — a bulk load stopped or killed before it built its
 * indexes — gets the key back when a thread opens the catalog for writing at start, before the
 * main thread looks ids up in it (each lookup would read the whole table). Nothing to do for an
 * empty table, or when the key is there. Never waits for the write lock: a writer holding it is
 * the bulk load itself (whose end builds the key), or a writer at start (`ensureEpisodeIndexes`).
 */
export function restoreEpisodeKey(db: Db): void {
  if (hasInlineEpisodeKey(db)) return;
  const have = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?")
    .get(EPISODE_KEY_NAME);
  if (have !== undefined || db.prepare('SELECT 1 FROM episodes LIMIT 1').get() === undefined) return;
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    db.exec(EPISODE_KEY_INDEX);
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_BUSY'))) throw err;
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

/** The name a `CREATE [UNIQUE] INDEX` statement gives its index. */
function indexName(sql: string): string {
  return (/CREATE (?:UNIQUE )?INDEX (\w+)/.exec(sql) as RegExpExecArray)[1] as string;
}

/** Names of EPISODE_INDEXES, in order. */
export const EPISODE_INDEX_NAMES = EPISODE_INDEXES.map(indexName);

/**
 * Ordered schema migrations: entry i upgrades a database from version i to i + 1 (PRAGMA
 * user_version). Append new steps; never edit a released one.
 */
export const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
  // v1: tail checkpoints, episodes and alerts from the index, running totals, phase-mix cache.
  (db) => {
    db.exec(`
      CREATE TABLE checkpoints (
        source TEXT PRIMARY KEY,          -- 'index' | 'alerts'
        dev INTEGER NOT NULL,
        ino INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,        -- hex sha1 of the first fingerprint_len bytes
        fingerprint_len INTEGER NOT NULL,
        offset INTEGER NOT NULL,          -- bytes consumed (always at a line boundary)
        updated_at TEXT NOT NULL
      );
      CREATE TABLE episodes (
        id INTEGER PRIMARY KEY,           -- arrival order in the index
        episode_id TEXT NOT NULL UNIQUE,
        host_id TEXT NOT NULL,
        sha256 TEXT,
        size_bytes INTEGER,
        received_at TEXT,                 -- ISO-8601 UTC
        received_ms INTEGER,              -- for range queries
        path TEXT,
        extra TEXT,                       -- JSON of unknown fields
        first_seen_at TEXT NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0,
        ingest_run INTEGER,               -- which server run committed it (the live feeder asks the
        ingest_line INTEGER               -- catalog only about earlier runs), and from which line
      );
      CREATE TABLE host_totals (
        host_id TEXT PRIMARY KEY,
        episodes INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        last_received_at TEXT
      );
      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        host_id TEXT,
        symptom TEXT,
        detail TEXT,
        suggested_fix TEXT,
        detected_at TEXT,
        detected_ms INTEGER,
        dedup_key TEXT,
        extra TEXT
      );
      CREATE TABLE phase_cache (
        rel_path TEXT PRIMARY KEY,        -- relative to the data root
        host_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        status TEXT NOT NULL,             -- 'ok' or a skip reason
        counts TEXT,                      -- JSON {phase: labels}
        seconds TEXT,                     -- JSON {phase: seconds}
        labels INTEGER NOT NULL DEFAULT 0,
        meta TEXT                         -- JSON of meta.json, when read
      );
    `);
  },
  // v2: the explorer and integrity. Indexes serve the explorer's keyset pages (newest first by
  // received time, then arrival id). Only append-friendly keys are indexed: received_ms grows
  // with arrival, and host/status/2-hex-digit groups each append at their own end, so a writer
  // batch dirties few pages. A full sha256 or size index (random keys) made a 1M-line bootstrap
  // about 10x slower, so sha prefixes use a 256-group index and sizes are filtered on a scan of
  // the (covering) time index.
  (db) => {
    db.exec(`
      -- Integrity of an indexed episode (ok / missing / corrupt / unverified), kept by the
      -- verifier thread; rows it has not reached yet are 'unverified'.
      ALTER TABLE episodes ADD COLUMN status TEXT NOT NULL DEFAULT 'unverified';
      -- host, status and size ride along (appended: inserts stay sequential) so counts and facets
      -- over a time range, and size filters, read this index alone, never the rows.
      CREATE INDEX episodes_by_time ON episodes(received_ms, host_id, status, size_bytes);
      CREATE INDEX episodes_by_host_status_time ON episodes(host_id, status, received_ms);
      CREATE INDEX episodes_by_status_time ON episodes(status, received_ms);
      CREATE INDEX episodes_by_sha_group ON episodes(substr(sha256, 1, 2));

      -- Every *.tar.zst under episodes/<host>/, with the verifier's cached result for it.
      CREATE TABLE disk_files (
        rel_path TEXT PRIMARY KEY,        -- relative to the data root
        host_id TEXT NOT NULL,
        episode_id TEXT NOT NULL,         -- the file name without .tar.zst
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        episode_row INTEGER,              -- episodes.id of its index line; NULL = unindexed
        verified_size INTEGER,            -- size and mtime when sha256 was computed
        verified_mtime_ms INTEGER,
        verified_sha256 TEXT,
        first_seen_at TEXT NOT NULL
      );
      CREATE INDEX disk_files_by_episode_id ON disk_files(episode_id);
      CREATE INDEX disk_files_unindexed ON disk_files(host_id, mtime_ms) WHERE episode_row IS NULL;

      -- Episodes per host and status, for rows up to sync_state 'synced_row'; later rows are
      -- 'unverified' until the verifier reaches them (counted live from their rowid range).
      CREATE TABLE episode_counts (
        host_id TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (host_id, status)
      ) WITHOUT ROWID;
      CREATE TABLE sync_state (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );

      CREATE INDEX alerts_by_host ON alerts(host_id, id);
      CREATE INDEX alerts_by_symptom ON alerts(symptom, id);
      CREATE INDEX alerts_by_time ON alerts(detected_ms);
      CREATE INDEX alerts_by_dedup_key ON alerts(dedup_key, id);
    `);
  },
  // v3: the files a tailer holds queued behind the one it reads (a rotation's new file, a copy of
  // it made by copytruncate meanwhile), as JSON: a restart must find them again, or their lines
  // would be lost.
  (db) => {
    db.exec('ALTER TABLE checkpoints ADD COLUMN pending TEXT');
  },
  // v4: the data root this catalog belongs to (one row), so a state dir reused for another root is
  // refused instead of mixing two catalogs (src/state/state-dir.ts).
  (db) => {
    db.exec(`
      CREATE TABLE data_root (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        real_path TEXT NOT NULL,          -- realpath of the data root (missing tail kept as given)
        fingerprint TEXT,                 -- 'inode:birth ms' of its directory; NULL while absent
        recorded_at TEXT NOT NULL
      );
    `);
  },
  // v5: integrity covers readability. A receiver that hashes what arrived indexes a damaged
  // tarball's true sha256, so the hash alone called it `ok`; the verifier now also reads the whole
  // archive and keeps why it cannot be read. Files hashed before are verified again once.
  (db) => {
    db.exec(`
      ALTER TABLE disk_files ADD COLUMN verified_error TEXT;
      UPDATE disk_files SET verified_sha256 = NULL;
    `);
  },
  // v6: a hex sha256 written in capitals is stored lowercased, as the writer now stores it
  // (`catalogSha256`): the explorer's `q` is matched lowercased, so such an episode was found by
  // no sha prefix. One pass over the table (≈ 1 s at 1M rows), once.
  (db) => lowercaseStoredSha256(db, 'episodes'),
  // v7: rows no longer repeat what other columns hold (EPISODE_PATH): `first_seen_at` moves to one
  // row per committed batch. Rows written before stay as they are (every reader takes both forms):
  // only a cold bulk load, whose index builds read the whole table, gains from narrow rows, and it
  // always starts from an empty table.
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS episode_batches (
        first_id INTEGER PRIMARY KEY,     -- episodes.id of the batch's first new row
        first_seen_at TEXT NOT NULL       -- when the batch was committed (ISO-8601 UTC): the
      );                                  -- first_seen_at of its rows (up to the next batch's)
    `);
  },
  // v8: alert groups counted as alerts are written (alert-groups.ts), not grouped from every alert
  // on each read; filled once from the alerts there are. Kept by a single box's AlertStore (a
  // replica groups its alerts by receiver too, from its own rows). Made anew if there (a test's
  // catalog set back to an earlier version): the alerts are what it counts.
  (db) => {
    db.exec(`
      DROP TABLE IF EXISTS alert_groups;
      CREATE TABLE alert_groups (
        part TEXT PRIMARY KEY,            -- json_array(dedup_key, host_id, symptom)
        dedup_key TEXT NOT NULL,
        host_id TEXT,
        symptom TEXT,
        n INTEGER NOT NULL,               -- alerts
        last_id INTEGER NOT NULL,         -- alerts.id of the newest
        first_seen TEXT,                  -- min(detected_at)
        last_seen TEXT                    -- max(detected_at)
      );
    `);
    db.exec(FILL_ALERT_GROUPS);
  },
];

/**
 * Stores each hex sha256 of `table` written in capitals lowercased, by `catalogSha256` itself (a
 * SQL function here); the GLOB only keeps it off the rows without a capital. For the migrations
 * of this catalog and of a replica's (src/replica/catalog.ts).
 */
export function lowercaseStoredSha256(db: Db, table: 'episodes' | 'replica_episodes'): void {
  db.function('catalog_sha256', { deterministic: true }, (sha: unknown) =>
    typeof sha === 'string' ? catalogSha256(sha) : sha,
  );
  db.exec(`
    UPDATE ${table} SET sha256 = catalog_sha256(sha256)
    WHERE sha256 GLOB '*[A-F]*' AND catalog_sha256(sha256) <> sha256;
  `);
}

/**
 * Makes the episodes' secondary indexes and unique key what this version wants: missing ones
 * built, ones of an earlier definition built again, retired ones dropped. Run by the catalog writer at start (a
 * catalog from an older version, or a bulk load cut short, is brought up to date off the main
 * thread); one transaction.
 */
export function ensureEpisodeIndexes(db: Db): void {
  const have = new Map(
    (
      db
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'episodes'")
        .all() as Array<{
        name: string;
        sql: string | null;
      }>
    ).map((r) => [r.name, r.sql]),
  );
  const inlineKey = hasInlineEpisodeKey(db);
  db.transaction(() => {
    for (const name of RETIRED_EPISODE_INDEXES) if (have.has(name)) db.exec(`DROP INDEX ${name}`);
    // The unique key: the table's own, or this index (never both).
    const key = have.get(EPISODE_KEY_NAME);
    if (inlineKey) {
      if (key !== undefined) db.exec(`DROP INDEX ${EPISODE_KEY_NAME}`);
    } else if (key !== EPISODE_KEY_INDEX) {
      if (key !== undefined) db.exec(`DROP INDEX ${EPISODE_KEY_NAME}`);
      db.exec(EPISODE_KEY_INDEX);
    }
    EPISODE_INDEXES.forEach((sql, i) => {
      const name = EPISODE_INDEX_NAMES[i] as string;
      const current = have.get(name);
      if (current === sql) return;
      if (current !== undefined) db.exec(`DROP INDEX ${name}`);
      db.exec(sql);
    });
  }).immediate();
}
