import type { EpisodeStatus } from '../protocol/api.js';
import type { Db } from './db.js';
import { defaultRelPath, expectedRelPath } from './disk-sync-paths.js';
import { EPISODE_PATH } from './schema.js';

/** One `*.tar.zst` regular file under `episodes/<host>/`, as the disk listing saw it. */
export interface DiskFile {
  /** Relative to the data root: `episodes/<host>/<name>.tar.zst`. */
  relPath: string;
  hostId: string;
  /** The file name without `.tar.zst`. */
  episodeId: string;
  size: number;
  mtimeMs: number;
}

/** What a listing changes in `disk_files`. */
export interface FileChanges {
  /** Files new to the catalog or with another size or mtime. */
  upserts: DiskFile[];
  /** Relative paths of files gone. */
  removals: string[];
}

/** Files applied per write transaction: short, so the catalog writer never waits long. */
export const FILES_PER_TX = 2000;

/** An index row's columns as the sync reads them (`path` given back as text). */
const ROW_COLUMNS = `id, episode_id, host_id, sha256, size_bytes, ${EPISODE_PATH} AS path, status`;

/** What the verifier must hash next. */
export interface VerifyItem {
  relPath: string;
  size: number;
  mtimeMs: number;
}

interface EpisodeRow {
  id: number;
  episode_id: string;
  host_id: string;
  sha256: string | null;
  size_bytes: number | null;
  path: string | null;
  status: string;
}

/** A `disk_files` row as the sync and the writer's classification read it (`FILE_COLUMNS`). */
export interface FileRow {
  rel_path: string;
  size: number;
  mtime_ms: number;
  episode_row: number | null;
  verified_size: number | null;
  verified_mtime_ms: number | null;
  verified_sha256: string | null;
  /** Why the verified file cannot be read as a `.tar.zst` (truncated, not_zstd, …); null when it can. */
  verified_error: string | null;
}

/** `FileRow`'s columns. */
export const FILE_COLUMNS =
  'rel_path, size, mtime_ms, episode_row, verified_size, verified_mtime_ms, verified_sha256, verified_error';

/** The row of `sync_state` holding the last `episodes.id` the sync has classified. */
export const SYNCED_ROW = 'synced_row';

/**
 * The statements that classify a row, shared by the sync and the catalog writer's classification
 * at insert (`insert-classifier.ts`): the watermark, a row's file, its claim, the per-host counts.
 */
export function classifyStatements(db: Db) {
  return {
    watermark: db.prepare('SELECT value FROM sync_state WHERE name = ?').pluck(),
    setWatermark: db.prepare(
      'INSERT INTO sync_state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    ),
    fileByPath: db.prepare(`SELECT ${FILE_COLUMNS} FROM disk_files WHERE rel_path = ?`),
    claimFile: db.prepare('UPDATE disk_files SET episode_row = ? WHERE rel_path = ? AND episode_row IS NULL'),
    addCount: db.prepare(
      `INSERT INTO episode_counts (host_id, status, n) VALUES (?, ?, ?)
       ON CONFLICT(host_id, status) DO UPDATE SET n = n + excluded.n`,
    ),
  };
}

/**
 * An indexed episode's integrity from its index line and its file: `missing` without a file,
 * `corrupt` when the size differs (known at once), the hash differs or the tarball cannot be
 * read (cut short, not zstd, not a tar: a receiver that hashed what arrived still indexes the
 * damaged bytes' true sha256), `ok` once hashed, equal and readable, `unverified` until then.
 */
export function statusFor(
  index: { size_bytes: number | null; sha256: string | null },
  file: Pick<
    FileRow,
    'size' | 'mtime_ms' | 'verified_size' | 'verified_mtime_ms' | 'verified_sha256' | 'verified_error'
  > | null,
): EpisodeStatus {
  if (!file) return 'missing';
  if (index.size_bytes !== null && index.size_bytes !== file.size) return 'corrupt';
  const verified =
    file.verified_sha256 !== null &&
    file.verified_size === file.size &&
    file.verified_mtime_ms === file.mtime_ms;
  if (!verified) return 'unverified';
  if (index.sha256 !== null && index.sha256.toLowerCase() !== file.verified_sha256) return 'corrupt';
  if (file.verified_error != null) return 'corrupt';
  return 'ok';
}

/**
 * Joins the index (episodes rows) with what is on disk (disk_files rows) and keeps each indexed
 * episode's `status` and the per-host/status counts current. Runs on the verifier's own
 * connection, in short transactions, off the main thread. Every step is incremental: new index
 * rows past a watermark, files that appeared, changed or vanished since the last listing.
 */
export class DiskSync {
  /** Index lines whose `path` is not the default location: rel path → episodes.id. */
  private readonly customPaths = new Map<string, number>();
  /**
   * The last row whose custom path `customPaths` holds (when it has one). Rows past the watermark
   * are classified here or by the catalog writer as it inserts them (`insert-classifier.ts`): the
   * writer's are read from here up to the watermark before a file is matched with its row.
   */
  private customSeen = 0;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly dataRoot: string,
  ) {
    this.stmts = {
      ...classifyStatements(db),
      newRows: db.prepare(`SELECT ${ROW_COLUMNS} FROM episodes WHERE id > ? ORDER BY id LIMIT ?`),
      rowById: db.prepare(`SELECT ${ROW_COLUMNS} FROM episodes WHERE id = ?`),
      rowByEpisodeId: db.prepare(`SELECT ${ROW_COLUMNS} FROM episodes WHERE episode_id = ?`),
      customRows: db.prepare(
        // A path in its default place (an empty blob) is not a custom one.
        "SELECT id, episode_id, host_id, path FROM episodes WHERE typeof(path) = 'text' AND id <= ?",
      ),
      // The same over a range of rows (by row id: the rows classified since the last look).
      customRowsBetween: db.prepare(
        "SELECT id, episode_id, host_id, path FROM episodes WHERE id > ? AND id <= ? AND typeof(path) = 'text'",
      ),
      setStatus: db.prepare('UPDATE episodes SET status = ? WHERE id = ?'),
      allFiles: db.prepare(`SELECT ${FILE_COLUMNS} FROM disk_files`),
      insertFile: db.prepare(
        `INSERT INTO disk_files (rel_path, host_id, episode_id, size, mtime_ms, first_seen_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      updateFile: db.prepare('UPDATE disk_files SET size = ?, mtime_ms = ? WHERE rel_path = ?'),
      deleteFile: db.prepare('DELETE FROM disk_files WHERE rel_path = ?'),
      toVerify: db.prepare(
        `SELECT rel_path AS relPath, size, mtime_ms AS mtimeMs FROM disk_files
         WHERE rel_path > ? AND episode_row IS NOT NULL
           AND (verified_sha256 IS NULL OR verified_size IS NOT size OR verified_mtime_ms IS NOT mtime_ms)
         ORDER BY rel_path LIMIT ?`,
      ),
      recordHash: db.prepare(
        `UPDATE disk_files SET verified_size = ?, verified_mtime_ms = ?, verified_sha256 = ?, verified_error = ?
         WHERE rel_path = ? AND size = ? AND mtime_ms = ?`,
      ),
    };
    const watermark = this.watermark();
    for (const row of this.stmts.customRows.all(watermark) as EpisodeRow[]) this.noteCustom(row);
    this.customSeen = watermark;
  }

  /** `customPaths` holds every classified row's custom path (up to `watermark`, read in this transaction). */
  private noteCustomUpTo(watermark: number): void {
    if (watermark <= this.customSeen) return;
    const rows = this.stmts.customRowsBetween.all(this.customSeen, watermark) as EpisodeRow[];
    for (const row of rows) this.noteCustom(row);
    this.customSeen = watermark;
  }

  /** The last `episodes.id` classified; rows after it are still `unverified` by default. */
  watermark(): number {
    return (this.stmts.watermark.get(SYNCED_ROW) as number | undefined) ?? 0;
  }

  /**
   * Reconciles `disk_files` with a complete, fresh listing: new files are matched with their index
   * line, changed ones lose their cached hash, vanished ones turn their episode `missing`.
   * @returns how many files were added, changed or removed.
   */
  applyListing(files: readonly DiskFile[]): number {
    const changes = this.diffWithCatalog(files);
    const total = changes.upserts.length + changes.removals.length;
    let n = 0;
    while (n < total) n += this.applyChanges(changes, n, FILES_PER_TX);
    return n;
  }

  /**
   * What a complete listing changes in `disk_files` (a read; nothing is written): files new or
   * with another size or mtime, and rows of files no longer listed.
   */
  diffWithCatalog(files: readonly DiskFile[]): FileChanges {
    const known = new Map<string, { size: number; mtime_ms: number }>();
    for (const row of this.stmts.allFiles.all() as FileRow[]) known.set(row.rel_path, row);
    const upserts: DiskFile[] = [];
    for (const f of files) {
      const prev = known.get(f.relPath);
      known.delete(f.relPath);
      if (!prev || prev.size !== f.size || prev.mtime_ms !== f.mtimeMs) upserts.push(f);
    }
    return { upserts, removals: [...known.keys()] };
  }

  /**
   * Applies up to `limit` of `changes` (upserts first, then removals), starting at the `from`-th,
   * in one short write transaction (taken at once: see `write`).
   * @returns how many it applied (0 when none is left).
   */
  applyChanges(changes: FileChanges, from: number, limit: number): number {
    return this.write(() => {
      const now = new Date().toISOString();
      const watermark = this.watermark();
      this.noteCustomUpTo(watermark);
      const { upserts, removals } = changes;
      const end = Math.min(from + limit, upserts.length + removals.length);
      for (let i = from; i < end; i++) {
        const f = upserts[i];
        if (f) this.upsertFile(f, now, watermark);
        else this.removeFile(removals[i - upserts.length] as string, watermark);
      }
      return end - from;
    });
  }

  private upsertFile(f: DiskFile, now: string, watermark: number): void {
    const prev = this.stmts.fileByPath.get(f.relPath) as FileRow | undefined;
    if (!prev) {
      this.stmts.insertFile.run(f.relPath, f.hostId, f.episodeId, f.size, f.mtimeMs, now);
      // Claimed at once, also by a row the classification has not reached yet (`refresh` leaves
      // that one to `syncNewRows`, which finds the file claimed by it): until then the Explorer
      // would list the episode twice, its row and an "unindexed" file.
      const row = this.indexRowFor(f);
      if (row) {
        this.stmts.claimFile.run(row.id, f.relPath);
        this.refresh(row, watermark);
      }
    } else if (prev.size !== f.size || prev.mtime_ms !== f.mtimeMs) {
      this.stmts.updateFile.run(f.size, f.mtimeMs, f.relPath);
      if (prev.episode_row !== null) this.refreshById(prev.episode_row, watermark);
    }
  }

  private removeFile(relPath: string, watermark: number): void {
    const gone = this.stmts.fileByPath.get(relPath) as FileRow | undefined;
    if (!gone) return;
    this.stmts.deleteFile.run(relPath);
    if (gone.episode_row !== null) this.refreshById(gone.episode_row, watermark);
  }

  /**
   * Runs `fn` in a write transaction that takes the write lock when it begins (BEGIN IMMEDIATE).
   * A deferred one reads first and upgrades at its first write; if the catalog writer committed
   * in between, SQLite cannot wait (the read snapshot is stale) and fails at once with "database
   * is locked" whatever the busy timeout. Taken at the start, the lock is waited for instead.
   */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * Classifies up to `limit` index rows past the watermark and counts them per host and status.
   * @returns how many rows it classified (0 when caught up).
   */
  syncNewRows(limit: number): number {
    return this.write(() => {
      const watermark = this.watermark();
      this.noteCustomUpTo(watermark);
      const rows = this.stmts.newRows.all(watermark, limit) as EpisodeRow[];
      const counts = new Map<string, number>();
      for (const row of rows) {
        this.noteCustom(row);
        const rel = expectedRelPath(row, this.dataRoot);
        const file = rel === null ? undefined : (this.stmts.fileByPath.get(rel) as FileRow | undefined);
        // Two index lines naming one file: the first one owns it, the second is missing.
        const owned = file !== undefined && (file.episode_row === null || file.episode_row === row.id);
        if (file && owned && file.episode_row === null) this.stmts.claimFile.run(row.id, file.rel_path);
        const status = statusFor(row, owned ? file : null);
        if (status !== row.status) this.stmts.setStatus.run(status, row.id);
        const key = `${row.host_id}\0${status}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) {
        const [host, status] = key.split('\0') as [string, string];
        this.stmts.addCount.run(host, status, n);
      }
      const last = rows[rows.length - 1];
      if (last) {
        this.stmts.setWatermark.run(SYNCED_ROW, last.id);
        this.customSeen = last.id; // each row's custom path was noted above
      }
      return rows.length;
    });
  }

  /**
   * Indexed files whose hash is not known for their current size and mtime, in path order after
   * `after`: the caller walks the table (a file it cannot read is retried on the next walk, and
   * never keeps the ones behind it waiting).
   */
  nextToVerify(limit: number, after = ''): VerifyItem[] {
    return this.stmts.toVerify.all(after, limit) as VerifyItem[];
  }

  /**
   * Stores a computed hash (only if the file still has the size and mtime it was hashed at) and
   * updates its episode's status.
   */
  recordHash(item: VerifyItem, sha256: string, readError: string | null = null): void {
    this.write(() => {
      const info = this.stmts.recordHash.run(
        item.size,
        item.mtimeMs,
        sha256,
        readError,
        item.relPath,
        item.size,
        item.mtimeMs,
      );
      if (info.changes === 0) return;
      const file = this.stmts.fileByPath.get(item.relPath) as FileRow | undefined;
      if (file?.episode_row != null) this.refreshById(file.episode_row, this.watermark());
    });
  }

  /**
   * The index row a file belongs to: the row whose custom `path` names it (classified rows), else
   * its own episode id's row when that names this file. An unclassified line of ANOTHER episode
   * whose custom `path` names this file is not looked for (a receiver fault; finding it would scan
   * every pending row with a path): it finds the file already claimed and is `missing`.
   */
  private indexRowFor(f: DiskFile): EpisodeRow | null {
    const custom = this.customPaths.get(f.relPath);
    if (custom !== undefined) return (this.stmts.rowById.get(custom) as EpisodeRow | undefined) ?? null;
    const row = this.stmts.rowByEpisodeId.get(f.episodeId) as EpisodeRow | undefined;
    if (!row) return null;
    return expectedRelPath(row, this.dataRoot) === f.relPath ? row : null;
  }

  private refreshById(id: number, watermark: number): void {
    const row = this.stmts.rowById.get(id) as EpisodeRow | undefined;
    if (row) this.refresh(row, watermark);
  }

  /** Recomputes one classified row's status from its file and moves its count. */
  private refresh(row: EpisodeRow, watermark: number): void {
    if (row.id > watermark) return;
    const rel = expectedRelPath(row, this.dataRoot);
    const file = rel === null ? undefined : (this.stmts.fileByPath.get(rel) as FileRow | undefined);
    const status = statusFor(row, file && file.episode_row === row.id ? file : null);
    if (status === row.status) return;
    this.stmts.setStatus.run(status, row.id);
    this.stmts.addCount.run(row.host_id, row.status, -1);
    this.stmts.addCount.run(row.host_id, status, 1);
  }

  private noteCustom(row: Pick<EpisodeRow, 'id' | 'episode_id' | 'host_id' | 'path'>): void {
    if (row.path === null) return;
    const rel = expectedRelPath(row, this.dataRoot);
    if (rel !== null && rel !== defaultRelPath(row.host_id, row.episode_id) && !this.customPaths.has(rel)) {
      this.customPaths.set(rel, row.id);
    }
  }
}
