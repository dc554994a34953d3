/**
 * A cold bulk load cut short (a stop or a crash before its indexes were built) is dropped at the
 * next start and the index loaded cold again, rather than resumed.
 *
 * Resumed, the rest of the index went in as a warm backlog: every line looked up in the catalog
 * and every row written through the indexes a cut-short load leaves behind (the writer builds them
 * at start). On the 1M-line foreign root stopped 1.2–2.5 s in, that start answered `/readyz` 503
 * for 8–36 s and completed the catalog after 23–51 s; a cold load of the whole index is ready in
 * ≈ 2 s and complete in ≈ 8 s. Nothing is lost by dropping it: every row of the load came from
 * `index.jsonl` as it is still, and the rest of the catalog (alerts, alert actions, the phase
 * mix's cache, the files on disk and their hashes) is kept.
 *
 * Only a load that began at byte 0 of the file at the path is marked (`bulk_load`, schema.ts), and
 * it is dropped only when that file is still at the path, starting as it did, and the load's last
 * checkpoint is in it with nothing queued behind: after a rotation (rename or copytruncate, before
 * the stop or during the load), part of what the load read is in a rotated file that a cold load
 * does not read, so the load is resumed then, as before.
 */
import fs from 'node:fs';
import type { Db } from './db.js';
import { SYNCED_ROW } from './disk-sync.js';
import { startsAs } from './file-head.js';
import { EPISODE_COUNTERS, readCheckpoint } from './ingest-store.js';

export type CutShortLoad =
  /** Dropped: the index is read cold from its start. `rows`: the rows the load had committed. */
  | { kind: 'dropped'; rows: number }
  /** Kept and resumed: the index was rotated since (or is gone). */
  | { kind: 'resumed'; rows: number; why: string };

/** The file a load began on (the `bulk_load` row). */
interface LoadStart {
  dev: number;
  ino: number;
  fingerprint: string;
  fingerprint_len: number;
}

/**
 * Drops the rows a cold bulk load cut short had committed (one transaction), or clears its mark
 * when it must be resumed instead; null when the catalog holds no such load.
 */
export function settleCutShortLoad(db: Db, indexPath: string): CutShortLoad | null {
  const marked = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bulk_load'").get();
  if (marked === undefined) return null;
  const start = db
    .prepare('SELECT dev, ino, fingerprint, fingerprint_len FROM bulk_load WHERE id = 1')
    .get() as LoadStart | undefined;
  const rows = db.prepare('SELECT coalesce(max(id), 0) FROM episodes').pluck().get() as number;
  const why = start ? rotatedSince(db, indexPath, start) : 'the file it began on is not known';
  if (why !== null) {
    db.exec('DROP TABLE bulk_load');
    return { kind: 'resumed', rows, why };
  }
  db.transaction(() => {
    db.exec('DELETE FROM episodes');
    db.exec('DELETE FROM episode_batches');
    db.exec('DROP TABLE IF EXISTS bulk_repeats');
    db.exec('DELETE FROM host_totals');
    const counter = db.prepare('DELETE FROM counters WHERE name = ?');
    for (const name of EPISODE_COUNTERS) counter.run(name);
    db.prepare("DELETE FROM checkpoints WHERE source = 'index'").run();
    // The verifier's classification of those rows: the files stay, unindexed until the load.
    db.exec('DELETE FROM episode_counts');
    db.exec('UPDATE disk_files SET episode_row = NULL WHERE episode_row IS NOT NULL');
    db.prepare('DELETE FROM sync_state WHERE name = ?').run(SYNCED_ROW);
    db.exec('DROP TABLE bulk_load');
  }).immediate();
  return { kind: 'dropped', rows };
}

/**
 * Why the load is not simply a prefix of the file now at `indexPath`, the one it began on; null
 * when it is.
 */
function rotatedSince(db: Db, indexPath: string, start: LoadStart): string | null {
  let fd: number;
  try {
    fd = fs.openSync(indexPath, 'r');
  } catch {
    return `${indexPath} cannot be read`;
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.dev !== start.dev || st.ino !== start.ino) {
      return `${indexPath} is another file than the one it began on (rotated)`;
    }
    const truncated = `${indexPath} no longer starts as it did (truncated and written again)`;
    if (!startsAs(fd, { fingerprint: start.fingerprint, fingerprintLen: start.fingerprint_len }))
      return truncated;
    const cp = readCheckpoint(db, 'index');
    if (cp === null) return null; // nothing of the index committed: dropping is a no-op on it
    if ((cp.pending?.length ?? 0) > 0) return 'files were queued behind the one it was reading';
    if (cp.dev !== start.dev || cp.ino !== start.ino) return 'it went on in another file (rotated during it)';
    if (st.size < cp.offset) return `${indexPath} is shorter than what was read (truncated)`;
    return startsAs(fd, cp) ? null : truncated;
  } finally {
    fs.closeSync(fd);
  }
}
