import fs from 'node:fs';
import path from 'node:path';
import type { EpisodeStatus } from '../protocol/api.js';
import type { Db } from './db.js';
import { classifyStatements, type FileRow, SYNCED_ROW, statusFor } from './disk-sync.js';
import { expectedRelPath } from './disk-sync-paths.js';

/** A new index row's columns the classification reads (`path`: the line's own, null when absent). */
export interface NewRow {
  episodeId: string;
  hostId: string;
  sha256: string | null;
  sizeBytes: number | null;
  path: string | null;
}

/**
 * The integrity classification of new index rows, done by the catalog writer as it inserts them
 * (live batches only), so the verifier thread need not write every new row a second time.
 *
 * The verifier classifies rows past a watermark (`sync_state` SYNCED_ROW) and moves each one's
 * `status` from `unverified` to what its file says: an UPDATE that rewrote the row and its three
 * status index entries in a transaction of its own, after the writer had written them (at 1M rows
 * ≈ 0.6 ms of the verifier thread per 0.1 s cycle of ten new lines, and the log frames the writer
 * then checkpoints). When the verifier has classified every row before a batch (the watermark is
 * the table's last row), the writer gives the batch's rows their status at insert by the same rule
 * (`statusFor`, the file as `disk_files` knows it, the first of two lines naming one file owns it),
 * claims their files, counts them in `episode_counts` and moves the watermark past them, in the
 * batch's own transaction — what `DiskSync.syncNewRows` would have done a moment later.
 *
 * One case is left to the verifier: a row whose file is on disk but not yet in `disk_files` (it
 * landed just before its line; the verifier lists it within a poll interval). Called `missing`
 * here it would read so until that listing; so classification stops at that row, and it and the
 * batch's later rows stay `unverified` past the watermark for the verifier, as before.
 */
export class InsertClassifier {
  private readonly stmts;
  /** Within a batch: still classifying (the verifier was caught up and no row stopped it). */
  private active = false;
  private lastId = 0;
  private readonly counts = new Map<string, number>();
  /** Rows left to the verifier, or files claimed (to hash): the verifier has work. */
  private verifierWork = false;

  constructor(
    db: Db,
    private readonly dataRoot: string,
  ) {
    this.stmts = {
      ...classifyStatements(db),
      lastRow: db.prepare('SELECT max(id) FROM episodes').pluck(),
    };
  }

  /**
   * A live batch begins (inside its transaction, which holds the write lock): its rows are
   * classified only if every row before them is.
   */
  begin(): void {
    const watermark = (this.stmts.watermark.get(SYNCED_ROW) as number | undefined) ?? 0;
    const last = (this.stmts.lastRow.get() as number | null) ?? 0;
    this.active = watermark === last;
    this.lastId = 0;
    this.counts.clear();
    this.verifierWork = !this.active;
  }

  /** The file a new row names, as `disk_files` has it, and whether the row may own it. */
  private pending: { rel: string; file: FileRow | undefined; owned: boolean } | null = null;

  /**
   * The status a row about to be inserted gets, or null: it is inserted `unverified` and left,
   * with every later row of the batch, to the verifier.
   */
  status(row: NewRow): EpisodeStatus | null {
    this.pending = null;
    if (!this.active) return null;
    const rel = expectedRelPath(
      { episode_id: row.episodeId, host_id: row.hostId, path: row.path },
      this.dataRoot,
    );
    const file = rel === null ? undefined : (this.stmts.fileByPath.get(rel) as FileRow | undefined);
    if (rel !== null && file === undefined && onDisk(path.join(this.dataRoot, rel))) {
      this.active = false;
      this.verifierWork = true;
      return null;
    }
    // Two index lines naming one file: the first one owns it, the second is missing (as in syncNewRows).
    const owned = file !== undefined && file.episode_row === null;
    if (rel !== null) this.pending = { rel, file, owned };
    return statusFor({ size_bytes: row.sizeBytes, sha256: row.sha256 }, owned ? (file ?? null) : null);
  }

  /** The row `status` was asked for was inserted as `id` with that status (not a repeat). */
  inserted(id: number, hostId: string, status: EpisodeStatus): void {
    const p = this.pending;
    this.pending = null;
    if (p?.owned) {
      this.stmts.claimFile.run(id, p.rel);
      this.verifierWork = true; // a claimed file is hashed (and the unindexed count moved)
    }
    const key = `${hostId}\0${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.lastId = id;
  }

  /**
   * The batch's rows are in: their counts and the watermark are written.
   * @returns whether the verifier has work from this batch (rows left to it, or files claimed).
   */
  end(): boolean {
    for (const [key, n] of this.counts) {
      const [host, status] = key.split('\0') as [string, string];
      this.stmts.addCount.run(host, status, n);
    }
    if (this.lastId > 0) this.stmts.setWatermark.run(SYNCED_ROW, this.lastId);
    this.counts.clear();
    this.active = false;
    this.pending = null;
    return this.verifierWork;
  }
}

/** Whether anything is at `abs` (a file the verifier's listing may not have reached yet). */
function onDisk(abs: string): boolean {
  try {
    // Not there is the common case (a lab's line for a file not uploaded, or the bench's): no
    // exception made for it (each one thrown cost ≈ 25 µs, a quarter of the writer's time per row).
    return fs.lstatSync(abs, { throwIfNoEntry: false }) !== undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Not there (or a path through a non-folder): missing. Anything else (EACCES, EIO): the
    // verifier decides, as it would have.
    return !(code === 'ENOENT' || code === 'ENOTDIR');
  }
}
