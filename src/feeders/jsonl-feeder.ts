import type { Logger } from '../util/log.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { excerpt, type ParseResult } from './records.js';
import type { TailFs } from './tail/fs.js';
import { JsonlTailer } from './tail/tailer.js';
import type { Checkpoint, TailBatch, TailerEvent } from './tail/types.js';

/** Batches larger than this are applied in bulk (one snapshot) rather than one event per record. */
export const BULK_THRESHOLD = 1000;

export interface JsonlFeederOptions<T> {
  /** Source name for logs and metrics: `index` or `alerts`. */
  name: string;
  path: string;
  /** Resume point (the catalog's committed checkpoint); null reads from byte 0. */
  start: Checkpoint | null;
  tailFs?: TailFs;
  pollIntervalMs?: number;
  logger: Logger;
  parse(line: string): ParseResult<T>;
  /** Returns false for a record to drop as a duplicate (counted, reported): the one duplicate check. */
  accept?(record: T): boolean;
  /**
   * Every batch the tailer read, parsed and decided (the ingest log's entry for this source),
   * checkpoint included, even when it accepted nothing. A promise holds the tailer (backpressure).
   */
  onBatch(batch: FeederBatch<T>): void | Promise<void>;
  /** Called once when the first pass reached the end of the file (or found it missing). */
  onCaughtUp?(): void;
  /**
   * Takes the first pass's batches instead of the per-line path (compact parsing); the applier
   * reports the lines it rejected through `reportRejected`. Closed once the first pass is done.
   */
  bulkLoader?: BulkLoader;
  /** Give each batch its file's stable key (`FeederBatch.fileKey`; the scale-out agent's marks). @default false */
  fileKeys?: boolean;
}

/** One batch of a source, as the ingest log carries it. */
export interface FeederBatch<T> {
  /** Accepted records, in file order. */
  records: T[];
  /** Records dropped as repeats of an accepted one (`accept` said no), in file order. */
  duplicates: T[];
  /** Lines the batch consumed (accepted, repeated or skipped). */
  lines: number;
  /** Lines skipped, by reason: unparsable, and what the tailer dropped (not `invalid_utf8`). */
  skipped: Record<string, number>;
  /** Lines with invalid UTF-8, delivered with U+FFFD. */
  invalidUtf8Lines: number;
  /** Where the file is read up to after this batch: the projections commit it with what they wrote. */
  checkpoint: Checkpoint;
  /** True while reading a backlog (the first pass, or a burst past BULK_THRESHOLD). */
  bulk: boolean;
  /** Offset of the batch's first byte in the checkpoint's file. */
  startOffset: number;
  /** The file's stable key, when asked for (`fileKeys`). */
  fileKey?: string;
}

/** A first-pass loader: takes batches of raw lines, applies them in order, possibly later. */
export interface BulkLoader {
  /** `read`: the batch's bytes and what the tailer skipped in them, by reason (`invalid_utf8` included). */
  submit(
    lines: string[],
    checkpoint: Checkpoint,
    read: { bytes: number; skips: Record<string, number> },
  ): Promise<void>;
  /** Resolves once every submitted batch is applied. */
  drain(): Promise<void>;
  close(): Promise<unknown>;
}

/**
 * What the reader itself knows: its position and the files it met. The counts of what it read
 * (lines, records, skips, repeats) are not here: they travel on the ingest log with each batch,
 * and the metrics projection (src/pipeline/ingest-metrics.ts) counts them.
 */
export interface JsonlFeederStats {
  source: string;
  bytes_read: number;
  file_size: number;
  rotations: Record<string, number>;
  /** Bytes known not read: truncated without a copy, or left in a compressed rotated file. */
  lost_bytes: number;
  /** Times a file to resume in was found nowhere (see the tailer's `checkpoint_lost`). */
  checkpoints_lost: number;
  /** Rotated `.N.gz` files after the checkpoint, reported and not read. */
  compressed_skipped: number;
  caught_up: boolean;
  /**
   * Why the file cannot be read right now (no permission, not a regular file, an I/O error), from
   * the tailer's last error until it reads again; null when nothing stands in the way.
   */
  input_error: { path: string; code: string; message: string } | null;
}

/** What the log says of a line by the reason it was not taken as it came. */
function lineMessage(reason: string): string {
  // invalid_utf8 lines are still delivered (with U+FFFD); their JSON parse decides.
  if (reason === 'invalid_utf8') return 'line has invalid UTF-8; decoded with U+FFFD';
  if (reason === 'torn_line') return 'dropped the torn start of a line; kept the episode after it';
  return 'skipped a line';
}

/**
 * Follows one JSONL file of the data root (via the tailer), parses its lines and hands accepted
 * records on. Bad lines are skipped, logged with an excerpt (rate limited) and reported by reason
 * with their batch (`FeederBatch.skipped`): the ingest log's metrics projection counts them.
 */
export class JsonlFeeder<T> {
  private readonly tailer: JsonlTailer;
  private readonly warn: RateLimitedLog;
  private caughtUp = false;
  private inputError: JsonlFeederStats['input_error'] = null;
  private bulkLoader: BulkLoader | null;
  private finishingBulk = false;
  private readonly caughtUpPromise: Promise<void>;
  private resolveCaughtUp!: () => void;

  constructor(private readonly options: JsonlFeederOptions<T>) {
    this.warn = new RateLimitedLog(options.logger);
    this.bulkLoader = options.bulkLoader ?? null;
    this.caughtUpPromise = new Promise((resolve) => {
      this.resolveCaughtUp = resolve;
    });
    this.tailer = new JsonlTailer({
      path: options.path,
      ...(options.tailFs ? { fs: options.tailFs } : {}),
      start: options.start,
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      onBatch: (batch) => this.onBatch(batch),
      onEvent: (event) => this.onTailerEvent(event),
      ...(options.fileKeys ? { fileKeys: true } : {}),
    });
  }

  start(): Promise<void> {
    return this.tailer.start();
  }

  async stop(): Promise<void> {
    await this.tailer.stop();
    // What the log held back is said before the process ends (a count, never lost).
    this.warn.flush();
  }

  whenCaughtUp(): Promise<void> {
    return this.caughtUpPromise;
  }

  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  stats(): JsonlFeederStats {
    const t = this.tailer.stats();
    return {
      source: this.options.name,
      bytes_read: t.bytesRead,
      file_size: t.fileSize,
      rotations: { ...t.rotations },
      lost_bytes: t.lostBytes,
      checkpoints_lost: t.checkpointsLost,
      compressed_skipped: t.compressedSkipped,
      caught_up: this.caughtUp,
      input_error: this.inputError,
    };
  }

  /** Logs a line skipped (or, for invalid UTF-8, delivered with U+FFFD), once per reason per window. */
  private warnLine(reason: string, excerptText: string, offset?: number | null): void {
    this.warn.warn(
      `${this.options.name}:${reason}`,
      {
        source: this.options.name,
        file: this.options.path,
        reason,
        ...(offset === undefined ? {} : { offset }),
        excerpt: excerptText,
      },
      lineMessage(reason),
    );
  }

  /**
   * The bulk applier reports the lines it rejected: logged with an excerpt (rate limited), those
   * it kept no excerpt of counted in the summary line (`counts`: every one of the batch, by reason).
   */
  reportRejected(
    rejected: ReadonlyArray<{ reason: string; excerpt: string }>,
    counts: Readonly<Record<string, number>> = {},
  ): void {
    const excerpted: Record<string, number> = {};
    for (const r of rejected) {
      this.warnLine(r.reason, r.excerpt);
      excerpted[r.reason] = (excerpted[r.reason] ?? 0) + 1;
    }
    for (const [reason, n] of Object.entries(counts)) {
      this.warn.heldBack(`${this.options.name}:${reason}`, n - (excerpted[reason] ?? 0), lineMessage(reason));
    }
  }

  private onBatch(batch: TailBatch): void | Promise<void> {
    this.inputError = null;
    const skips = this.reportTailerSkips(batch);
    if (this.bulkLoader) {
      return this.bulkLoader.submit(batch.lines, batch.checkpoint, {
        bytes: batch.checkpoint.offset - batch.startOffset,
        skips,
      });
    }
    return this.applyLines(batch, skips);
  }

  /** The first pass is done when the tailer is at the end and every bulk batch is applied. */
  private async finishBulk(): Promise<void> {
    const loader = this.bulkLoader;
    if (!loader || this.finishingBulk) return;
    this.finishingBulk = true;
    try {
      await loader.drain();
      // Another batch may have come in while draining; its own caught_up will finish then.
      if (!this.tailer.caughtUp) return;
      this.bulkLoader = null;
      await loader.close();
      this.markCaughtUp();
    } finally {
      this.finishingBulk = false;
    }
  }

  /** Logs what the tailer skipped in `batch`; returns the counts by reason (`invalid_utf8` included). */
  private reportTailerSkips(batch: TailBatch): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of batch.skipped) {
      counts[s.reason] = (counts[s.reason] ?? 0) + 1;
      this.warnLine(s.reason, s.excerpt, s.offset);
    }
    return counts;
  }

  private applyLines(batch: TailBatch, tailerSkips: Record<string, number>): void | Promise<void> {
    const { lines, checkpoint } = batch;
    const { parse, accept } = this.options;
    const records: T[] = [];
    const duplicates: T[] = [];
    // The tailer's report of invalid UTF-8 is not a skip: those lines are delivered.
    const { invalid_utf8: invalidUtf8Lines = 0, ...skipped } = tailerSkips;
    for (const line of lines) {
      const result = parse(line);
      if (!result.ok) {
        skipped[result.reason] = (skipped[result.reason] ?? 0) + 1;
        this.warnLine(result.reason, excerpt(line), null);
        continue;
      }
      if (result.torn !== undefined) {
        // The start of a cut-off earlier line, dropped; the episode after it is kept.
        skipped.torn_line = (skipped.torn_line ?? 0) + 1;
        this.warnLine('torn_line', result.torn, null);
      }
      if (accept && !accept(result.record)) {
        duplicates.push(result.record);
        this.warn.warn(
          `${this.options.name}:duplicate`,
          { source: this.options.name, excerpt: excerpt(line) },
          'repeated id counted once',
        );
        continue;
      }
      records.push(result.record);
    }
    return this.options.onBatch({
      records,
      duplicates,
      lines: lines.length,
      skipped,
      invalidUtf8Lines,
      checkpoint,
      bulk: !this.caughtUp || records.length > BULK_THRESHOLD,
      startOffset: batch.startOffset,
      ...(batch.fileKey !== undefined ? { fileKey: batch.fileKey } : {}),
    });
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.options.logger.info({ source: this.options.name }, 'first pass done');
    this.options.onCaughtUp?.();
    this.resolveCaughtUp();
  }

  private onTailerEvent(event: TailerEvent): void {
    const log = this.options.logger;
    const fields = { source: this.options.name, ...event };
    switch (event.kind) {
      case 'caught_up':
        this.inputError = null;
        if (this.bulkLoader) void this.finishBulk();
        else this.markCaughtUp();
        break;
      case 'missing':
        log.warn(fields, 'input file missing; will pick it up when it appears');
        // Nothing to read is a finished first pass: the server is ready without the file.
        if (this.bulkLoader) void this.finishBulk();
        else this.markCaughtUp();
        break;
      case 'appeared':
        log.info(fields, 'input file appeared');
        break;
      case 'rotated':
        log.info(fields, 'input file rotated');
        break;
      case 'checkpoint_lost':
        log.warn(
          fields,
          'checkpointed file not found; reading the rotated files left, then the current file',
        );
        break;
      case 'compressed_skipped':
        log.warn(fields, 'rotated file is compressed; its lines are not read');
        break;
      case 'error':
        this.inputError = { path: event.path, code: event.code, message: event.message };
        log.warn(fields, 'cannot read input file; retrying');
        break;
      default:
        log.debug(fields, 'tailer event');
    }
  }
}
