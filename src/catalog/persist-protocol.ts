import type { Checkpoint } from '../feeders/tail/types.js';
import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';
import type { StorageFault } from '../state/errors.js';
import type { SourceName } from './ingest-store.js';

/**
 * The workerData of a catalog writer started ahead of need (`prestartCatalogWriter`): it loads its
 * modules, then waits on `handover` (an Int32Array over it) for its PersistWorkerData, posted to it
 * before the wait is ended (WRITER_HANDOVER.given), or for word that nobody needs it (.released).
 */
export interface PrestartedWriterData {
  handover: SharedArrayBuffer;
}

/** The values of a prestarted writer's `handover` word. */
export const WRITER_HANDOVER = { waiting: 0, given: 1, released: 2 } as const;

/** The words of `PersistWorkerData.stopSkip`. */
export const STOP_WORD = { skip: 0, requested: 1 } as const;
export const STOP_WORDS = 2;

/** What the main thread tells the catalog writer at start. */
export interface PersistWorkerData {
  stateDir: string;
  /**
   * The data root: given, the writer classifies a live batch's rows as it inserts them when the
   * integrity verifier is caught up (`insert-classifier.ts`).
   */
  dataRoot?: string;
  /** The index file: where a first-pass range cut short by copytruncate is looked for in its copy. */
  indexPath?: string;
  /** The alerts file: the same, for a cold start's ranges of it. */
  alertsPath?: string;
  /**
   * An Int32Array's buffer (STOP_WORDS words) the main thread sets as it stops
   * (CatalogPersister.stop): word STOP_WORD.requested to 1 at once (a cold bulk load stops after
   * its first commit: the next start loads it again), word STOP_WORD.skip to 1 once the stop has
   * waited as long as it may (batches still queued are then skipped, not written).
   */
  stopSkip?: SharedArrayBuffer;
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
       * A cold start's first-pass range as typed columns: the range's bytes (read again from the
       * page cache through the pass's descriptor), and what the main thread's scan found in them (per line: outcome, host, size, time, where
       * the id and sha256 lie; `CompactIndexBatch.rows`), so the writer slices the strings it
       * stores instead of parsing the lines again. On a cold start the catalog is empty, so the
       * first line of an id wins here as in the live totals.
       */
      type: 'index_columns';
      seq: number;
      /** The first pass's descriptor (open): the range's bytes are read again through it. */
      fd: number;
      /** Where the range starts in the file, and its length. */
      fileOffset: number;
      length: number;
      count: number;
      /** 0 = valid line (LINE_OK); anything else was skipped. */
      status: Uint8Array;
      host: Uint32Array;
      hosts: string[];
      /** NaN: none. */
      size: Float64Array;
      /** Epoch ms; NaN: none. */
      receivedMs: Float64Array;
      /** ROW_FIELDS per line (`ROW` in feeders/index-compact.ts). */
      rows: Int32Array;
      /** Where the fields of lines with more than the fast columns lie (`CompactIndexBatch.spans`). */
      spans: Uint16Array;
      texts: Array<{ index: number; line: string }>;
      /** Indexes of valid lines that repeat an id (the main thread's duplicate check), ascending. */
      duplicateAt: number[];
      checkpoint: Checkpoint;
    }
  | {
      /** A cold start's first-pass batch of lines that came through the tailer (no range plan). */
      type: 'index_lines';
      seq: number;
      lines: string[];
      /** Indexes into `lines` of lines that repeat an id (the main thread's duplicate check), ascending. */
      duplicateAt: number[];
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
    }
  | {
      /** A cold start's range of `alerts.jsonl`: the writer reads its lines through `fd` and parses them. */
      type: 'alerts_range';
      seq: number;
      fd: number;
      fileOffset: number;
      length: number;
      lines: number;
      checkpoint: Checkpoint;
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
      /**
       * Whether the batch left the integrity verifier work: index rows it did not classify, or
       * files its rows claimed (to hash). False only when the writer classified every new row.
       */
      verifierWork: boolean;
    }
  /** A commit failed for a storage reason (full disk, read-only, corrupt); it is retried. */
  | { type: 'fault'; source: SourceName; fault: StorageFault; message: string }
  | { type: 'error'; seq: number; message: string }
  | { type: 'stopped' };

/** Messages from the main thread to the writer. */
export type PersistCommand = PersistBatch | { type: 'stop' };
