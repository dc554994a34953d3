import type { RangeRead, RawLines } from '../feeders/first-pass.js';
import type { CompactIndexBatch } from '../feeders/index-compact.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';

/** Where a batch sits in its file: the scale-out agent's mark (present when the reader was asked for file keys). */
export interface FileSpan {
  /** The file's stable key (src/feeders/tail/fingerprint.ts `fileKey`). */
  fileKey: string;
  /** Offset of the batch's first byte; `checkpoint.offset` is its end. */
  startOffset: number;
}

/**
 * What a per-line batch read besides its records: the reader's decisions on the lines it did not
 * accept (the metrics projection counts these; no reader keeps counts of its own).
 */
export interface LineOutcomes {
  /** Lines the batch consumed (accepted, repeated or skipped as unparsable). */
  lines: number;
  /**
   * Skips by reason: unparsable lines (`malformed_json`, `not_object`, …) and what the tailer
   * dropped or cleaned before parsing (`line_too_long`, `nul_padding`). Not `invalid_utf8`.
   */
  skipped: Readonly<Record<string, number>>;
  /** Lines with invalid UTF-8, delivered with U+FFFD (then usually skipped as malformed_json). */
  invalidUtf8Lines: number;
  /** Bytes of the file the batch consumed (its checkpoint's offset less the batch's first byte). */
  bytes: number;
}

/**
 * One batch of one source file, as its one reader delivered it (DESIGN §3): every projection
 * (live state, catalog, metrics) consumes these and nothing else reads a file.
 * Duplicates are decided once, by the reader, before the batch is appended.
 */
export type IngestBatch =
  | ({
      source: 'index';
      kind: 'records';
      records: EpisodeRecord[];
      /** Ids of lines that repeated an accepted id. */
      duplicateIds: string[];
      checkpoint: Checkpoint;
      bulk: boolean;
      span?: FileSpan;
    } & LineOutcomes)
  | {
      /** A cold start's first pass: compact columns for the live state, raw lines for the catalog. */
      source: 'index';
      kind: 'compact';
      batch: CompactIndexBatch;
      /** Indexes (in the batch) of valid lines that repeated an id. */
      duplicateAt: readonly number[];
      /**
       * The bytes the batch was scanned from and what reading them skipped (over-long lines,
       * crash padding, invalid UTF-8); its parse skips are its lines' `status` codes.
       */
      read: RangeRead;
      raw: RawLines;
      checkpoint: Checkpoint;
      /**
       * The batch's columns belong to this entry alone (the first pass's scanner thread made them
       * for it): the last projection may move them to another thread instead of copying them.
       */
      ownColumns?: boolean;
    }
  | {
      /** The cold first pass is over: what follows comes from the tailer, record by record. */
      source: 'index';
      kind: 'first_pass_done';
    }
  | ({
      /**
       * A cold start's range of `alerts.jsonl` (`scanAlertRange`): what the live state shows of it
       * (the recent window, each host's last alert), the count, and where the catalog writer reads
       * its rows (the range, through the reader's descriptor).
       */
      source: 'alerts';
      kind: 'compact';
      /** Lines that are alerts. */
      accepted: number;
      /** The range's last RECENT_LIMIT alerts, in file order. */
      recent: AlertRecord[];
      /** Each host's last alert in the range. */
      hostLast: AlertRecord[];
      raw: Extract<RawLines, { kind: 'range' }>;
      checkpoint: Checkpoint;
    } & LineOutcomes)
  | ({
      source: 'alerts';
      kind: 'records';
      records: AlertRecord[];
      checkpoint: Checkpoint;
      bulk: boolean;
      span?: FileSpan;
    } & LineOutcomes);

export type IngestEntry = IngestBatch & { seq: number };

/** A consumer of the ingest log. A promise from `apply` holds the reader until it settles (backpressure). */
export interface IngestProjection {
  apply(entry: IngestEntry): void | Promise<void>;
}

/**
 * The in-process ingest log: numbers each source batch and hands it, in order, to every
 * projection subscribed. Entries are not kept: each projection that outlives the process commits
 * its own position (the catalog: the checkpoint, in the same transaction as its rows), and a
 * restart resumes the readers from the catalog's, so nothing is applied twice or skipped.
 */
export class IngestLog {
  #seq = 0;
  #projections: readonly IngestProjection[] = [];

  /** Seq of the last batch appended (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  subscribe(projection: IngestProjection): () => void {
    this.#projections = [...this.#projections, projection];
    return () => {
      this.#projections = this.#projections.filter((p) => p !== projection);
    };
  }

  /** Numbers the batch and applies it to every projection, in subscription order. */
  append(batch: IngestBatch): void | Promise<void> {
    const entry = { ...batch, seq: this.#seq + 1 } as IngestEntry;
    this.#seq = entry.seq;
    const waits: Promise<void>[] = [];
    for (const p of this.#projections) {
      const r = p.apply(entry);
      if (r) waits.push(r);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }
}
