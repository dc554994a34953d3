import type { Checkpoint } from '../feeders/tail/types.js';
import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';
import type { StorageFault } from '../state/errors.js';
import type { SourceName } from './ingest-store.js';

/** What the main thread tells the catalog writer at start. */
export interface PersistWorkerData {
  stateDir: string;
}

/**
 * One batch of a source as the main thread's single reader delivered it: what the catalog must
 * write, and the position (checkpoint) that covers it, committed in the same transaction.
 * `seq` numbers the batches sent to the writer (1, 2, …) so the main thread knows what is applied.
 */
export type PersistBatch =
  | {
      type: 'episodes';
      seq: number;
      /** Accepted records (the main thread's one duplicate check), in file order. */
      records: EpisodeRecord[];
      /** Ids of lines that repeated an accepted id: their episode's `duplicates` is bumped. */
      duplicateIds: string[];
      /** Lines of the file this batch consumed. */
      lines: number;
      checkpoint: Checkpoint | null;
    }
  | {
      /**
       * A cold start's first-pass range: its whole lines as bytes, exactly as read once by the main
       * thread (which keeps only compact columns of it). The writer splits and parses them; on a
       * cold start the catalog is empty, so the first line of an id wins here as in the live totals.
       */
      type: 'index_bytes';
      seq: number;
      bytes: Uint8Array;
      /** File offset of bytes[0] (a byte-order mark is dropped only at offset 0). */
      fileOffset: number;
      checkpoint: Checkpoint;
    }
  | {
      /** A cold start's first-pass batch of lines that came through the tailer (no range plan). */
      type: 'index_lines';
      seq: number;
      lines: string[];
      checkpoint: Checkpoint | null;
    }
  | {
      /** The cold first pass is over: indexes dropped for its bulk load are built now. */
      type: 'first_pass_done';
      seq: number;
    }
  | {
      type: 'alerts';
      seq: number;
      records: AlertRecord[];
      lines: number;
      checkpoint: Checkpoint | null;
    };

/** Messages from the catalog writer thread to the main thread. */
export type PersistMessage =
  | {
      type: 'committed';
      source: SourceName;
      seq: number;
      /** Lines of the file this batch consumed. */
      lines: number;
      inserted: number;
      duplicates: number;
      /** Time the batch's transaction took (rows and checkpoint), for the commit-time histogram. */
      seconds: number;
    }
  /** A commit failed for a storage reason (full disk, read-only, corrupt); it is retried. */
  | { type: 'fault'; source: SourceName; fault: StorageFault; message: string }
  | { type: 'error'; seq: number; message: string }
  | { type: 'stopped' };

/** Messages from the main thread to the writer. */
export type PersistCommand = PersistBatch | { type: 'stop' };
