/**
 * Types of the JSONL tailer: what it hands its consumer (batches of raw lines plus the checkpoint
 * that covers them) and what it reports (events). JSON parsing is the consumer's job.
 */

/** Which file: device + inode, plus a hash of its first bytes (inodes are reused after deletion). */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** Hex sha1 of the first `fingerprintLen` bytes. */
  fingerprint: string;
  /** How many leading bytes the fingerprint covers: min(size, 1024); grows with a young file. */
  fingerprintLen: number;
}

/** Position after the last consumed byte (always at a line boundary) of one identified file. */
export interface Checkpoint extends FileIdentity {
  offset: number;
  /**
   * Files to read after this one, each from byte 0, in order: what a rename rotation put at the
   * path while this (renamed) file was still being drained, and copies copytruncate made of it
   * meanwhile. Absent when there are none. A store that drops it resumes correctly unless the file
   * at the path was copytruncated before it was reached: then the copy's lines are missed.
   */
  pending?: PendingFile[];
}

/** A file queued behind the one being read, identified as it was at the last look. */
export interface PendingFile extends FileIdentity {
  /** Its size at the last look: smaller later means it was truncated in between. */
  size: number;
  /** copytruncate's copy of the file that was at the path (never written: no grace period). */
  copy?: true;
}

/**
 * Why a line was reported. `line_too_long` lines are dropped. `invalid_utf8` lines are NOT dropped:
 * they are in `lines`, decoded with U+FFFD, and the entry only reports them (the consumer's JSON
 * parse decides whether the record is usable). `nul_padding`: the line began with NUL bytes (what a
 * crashed write leaves); they were removed and the rest, if not blank, IS in `lines` — the entry
 * counts the lost write, not the record behind it.
 */
export type SkipReason = 'line_too_long' | 'invalid_utf8' | 'nul_padding';

export interface SkippedLine {
  reason: SkipReason;
  /** Byte offset of the line's first byte in the file the batch's checkpoint names. */
  offset: number;
  /** The line's first characters (at most 120). */
  excerpt: string;
}

export interface TailBatch {
  /**
   * Complete records in file order: split on '\n' only (never U+2028/2029/0085), one trailing '\r'
   * removed, empty and whitespace-only lines dropped, a UTF-8 BOM at byte 0 removed.
   */
  lines: string[];
  /**
   * Where to resume after this batch. Commit it in the SAME transaction as the records, so a crash
   * can neither lose nor double-count a line.
   */
  checkpoint: Checkpoint;
  skipped: SkippedLine[];
  /** Offset of the batch's first byte in the file the checkpoint names (`checkpoint.offset` is its end). */
  startOffset: number;
  /**
   * The file's stable key (`fileKey` in ./fingerprint.ts), when the tailer was asked for keys
   * (`fileKeys`): the scale-out agent marks each batch with it. Absent otherwise.
   */
  fileKey?: string;
}

export type RotationKind = 'rename' | 'truncate' | 'replaced';

export type TailerEvent =
  /** The path does not exist (or its folder does not); reported once until it appears. */
  | { kind: 'missing'; path: string }
  | { kind: 'appeared'; path: string }
  /** `drained` = the old file (rename) or the copy (copytruncate) that was read to its end first. */
  | { kind: 'rotated'; how: RotationKind; path: string; drained?: string }
  /**
   * The checkpointed file (or a file its checkpoint queued) was found nowhere, not even compressed:
   * reading went on with the rotated files beside the path, then the file at the path, from byte 0.
   * `offset`: how far into it had been read; `unreadBytes`: how much of it is known not to have
   * been read, null when unknown (what was written to it after the stop cannot be measured).
   */
  | { kind: 'checkpoint_lost'; path: string; reason: string; offset: number; unreadBytes: number | null }
  /**
   * A rotated file that comes after the checkpoint is compressed (`<name>.N.gz`) and is not read.
   * `unreadBytes`: what it holds past the checkpoint (all of it unless it is the checkpointed file),
   * from its gzip trailer; null when that cannot be read.
   */
  | { kind: 'compressed_skipped'; path: string; file: string; unreadBytes: number | null }
  /** Reached the end of the file after having read something, or at start. */
  | { kind: 'caught_up'; path: string }
  /** Reported once per code until things work again; the tailer retries on its own. */
  | { kind: 'error'; path: string; code: string; message: string };

export interface TailerStats {
  path: string;
  /** Consumed offset in the file being read (lag = fileSize - bytesRead). */
  bytesRead: number;
  /** Size of the file being read at the last look. */
  fileSize: number;
  /** Lines delivered. */
  lines: number;
  /** Lines reported, by reason (`line_too_long` dropped, `invalid_utf8` delivered with U+FFFD, `nul_padding` stripped). */
  skipped: Record<string, number>;
  rotations: Record<RotationKind, number>;
  /**
   * Bytes known to be lost: unread when a file was truncated and no copy was found, or left in a
   * compressed rotated file (`compressed_skipped`).
   */
  lostBytes: number;
  /** `checkpoint_lost` events: a file to resume in was found nowhere. */
  checkpointsLost: number;
  /** `compressed_skipped` events: rotated files after the checkpoint left unread as `.gz`. */
  compressedSkipped: number;
  /** Batches delivered. */
  batches: number;
}
