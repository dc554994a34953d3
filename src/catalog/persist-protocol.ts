import type { Checkpoint } from '../feeders/tail/types.js';
import type { StorageFault } from '../state/errors.js';
import type { SourceName } from './ingest-store.js';

/** What the main thread tells the catalog writer at start. */
export interface PersistWorkerData {
  dataRoot: string;
  stateDir: string;
  pollIntervalMs: number;
  /** This server run's id, stored with each committed episode (see EpisodeIdTracker). */
  run: number;
}

/** Messages from the catalog writer thread to the main thread. */
export type PersistMessage =
  | {
      type: 'committed';
      source: SourceName;
      /** Complete lines consumed since start, committed with their checkpoint. */
      lines: number;
      inserted: number;
      duplicates: number;
      checkpoint: Checkpoint;
      /** Time the batch's transaction took (rows and checkpoint), for the commit-time histogram. */
      seconds: number;
    }
  | { type: 'caught_up'; source: SourceName }
  /** A commit failed for a storage reason (full disk, read-only, corrupt); it is retried. */
  | { type: 'fault'; source: SourceName; fault: StorageFault; message: string }
  | { type: 'error'; source: SourceName | null; message: string }
  | { type: 'stopped' };

/** Messages from the main thread to the writer. */
export type PersistCommand = { type: 'stop' } | { type: 'go' };
