import type { EpisodeStatus } from '../protocol/api.js';
import type { Db } from './db.js';

/**
 * What the verifier thread counts and posts: classified episodes by host and status (which the
 * catalog writer's live batches add to as well: `integrityCounts` reads those from the catalog),
 * unindexed files by host.
 */
export interface VerifierCounts {
  counted: Array<{ host_id: string; status: EpisodeStatus; n: number }>;
  unindexed: Array<{ host_id: string; n: number }>;
}

/** Classified episodes by host and status (`VerifierCounts['counted']`). */
export const COUNTED_SQL = 'SELECT host_id, status, n FROM episode_counts WHERE n != 0';

/** Reads `VerifierCounts` in one snapshot (the verifier thread may commit between two statements). */
export function readVerifierCounts(db: Db): VerifierCounts {
  return db.transaction(() => ({
    counted: db.prepare(COUNTED_SQL).all() as VerifierCounts['counted'],
    unindexed: db
      .prepare('SELECT host_id, count(*) AS n FROM disk_files WHERE episode_row IS NULL GROUP BY host_id')
      .all() as VerifierCounts['unindexed'],
  }))();
}
