import type { FileChanges } from './disk-sync.js';
import type { VerifierCounts } from './verifier-counts.js';

/** What the main thread tells the verifier thread at start. */
export interface VerifierWorkerData {
  dataRoot: string;
  stateDir: string;
  /** How often the thread looks for new index rows and files to hash. */
  pollIntervalMs: number;
  /** A full listing of `episodes/` at least this often (besides pokes). */
  rescanIntervalMs: number;
  /** Hashing budget. */
  bytesPerSecond: number;
  /**
   * The main thread posts the files that changed (`files`), from the host-folder feeder's listing:
   * the thread lists `episodes/` itself only for its full listings, not after every poke.
   */
  fed: boolean;
  /**
   * When the thread's predecessor last listed `episodes/` in full (ms since the epoch; 0: never, or
   * its last changes failed to apply): a thread started again after an idle end (fed mode) takes
   * the feeder's changes since then instead of listing every file at once.
   */
  fullListingAt: number;
}

/** Messages from the verifier thread. */
export type VerifierMessage =
  | {
      type: 'cycle';
      /** Files added, changed or removed by this cycle's listing (0 without a listing). */
      fileChanges: number;
      /** Index rows classified this cycle. */
      rowsSynced: number;
      /** Files hashed this cycle. */
      hashed: number;
      /** Bytes hashed this cycle. */
      hashedBytes: number;
      /**
       * The cycle found nothing to do (no file changed, no new row, nothing to hash, no change
       * posted and waiting): the main thread may end the thread (`IntegrityVerifier`).
       */
      idle: boolean;
      /** When the thread last listed `episodes/` in full (see `VerifierWorkerData.fullListingAt`). */
      fullListingAt: number;
      /**
       * `files` commands received so far: an idle cycle has applied them all, and the main thread
       * ends the thread only when it has posted no other since (one in flight would be lost).
       */
      filesReceived: number;
    }
  /**
   * The verifier's own counts as of its last commit (it alone writes them): indexed episodes it
   * classified by status, and unindexed files, per host. Counting 200,000 unindexed rows is too
   * long for the main thread's event loop; this thread counts after the cycles that changed them.
   */
  | { type: 'counts'; counts: VerifierCounts }
  /**
   * An indexed episode file that could not be read to hash (no permission, an I/O error), told
   * once until it changes or reads: it stays `unverified` and is tried again on each walk.
   */
  | { type: 'unreadable'; relPath: string; message: string; code?: string | undefined }
  /** A cycle failed; `code` is the SQLite or system error code, when it had one. */
  | { type: 'error'; message: string; code?: string | undefined }
  | { type: 'stopped' };

/**
 * Messages to the verifier thread: `poke` asks for a listing now (new files appeared); `files`
 * brings the files that changed, when the thread is fed (see `VerifierWorkerData.fed`).
 */
export type VerifierCommand = { type: 'poke' } | { type: 'files'; changes: FileChanges } | { type: 'stop' };
