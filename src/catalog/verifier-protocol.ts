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
    }
  /** A cycle failed; `code` is the SQLite or system error code, when it had one. */
  | { type: 'error'; message: string; code?: string | undefined }
  | { type: 'stopped' };

/** Messages to the verifier thread: `poke` asks for a listing now (new files appeared). */
export type VerifierCommand = { type: 'poke' } | { type: 'stop' };
