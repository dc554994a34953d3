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
   * reports what it counted through `countBulk`. Closed once the first pass is done.
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
  submit(lines: string[], checkpoint: Checkpoint): Promise<void>;
  /** Resolves once every submitted batch is applied. */
  drain(): Promise<void>;
  close(): Promise<unknown>;
}

/** What a bulk applier counted in one batch. */
export interface BulkCounts {
  /** Lines read outside the tailer (the ranged first pass); batches through `submit` count themselves. */
  lines?: number;
  /** Lines with invalid UTF-8 read outside the tailer (delivered with U+FFFD, not skipped). */
  invalidUtf8?: number;
  accepted: number;
  duplicates: number;
  skipped: Record<string, number>;
  rejected: Array<{ reason: string; excerpt: string }>;
}

export interface JsonlFeederStats {
  source: string;
  lines: number;
  accepted: number;
  duplicates: number;
  skipped: Record<string, number>;
  bytes_read: number;
  file_size: number;
  rotations: Record<string, number>;
  /** Bytes known not read: truncated without a copy, or left in a compressed rotated file. */
  lost_bytes: number;
  /** Times a file to resume in was found nowhere (see the tailer's `checkpoint_lost`). */
  checkpoints_lost: number;
  /** Rotated `.N.gz` files after the checkpoint, reported and not read. */
  compressed_skipped: number;
  /** Lines with invalid UTF-8, delivered with U+FFFD (and then usually skipped as malformed_json). */
  invalid_utf8_lines: number;
  caught_up: boolean;
}

/** The tailer's report of invalid UTF-8 is not a skip: those lines are delivered. */
function withoutDelivered(skipped: Record<string, number>): Record<string, number> {
  const { invalid_utf8: _delivered, ...rest } = skipped;
  return rest;
}

/**
 * Follows one JSONL file of the data root (via the tailer), parses its lines and hands accepted
 * records on. Bad lines are skipped, counted by reason and logged with an excerpt (rate limited).
 */
export class JsonlFeeder<T> {
  private readonly tailer: JsonlTailer;
  private readonly warn: RateLimitedLog;
  private lines = 0;
  private accepted = 0;
  private duplicates = 0;
  private invalidUtf8Bulk = 0;
  private readonly skipped: Record<string, number> = {};
  private caughtUp = false;
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

  stop(): Promise<void> {
    return this.tailer.stop();
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
      lines: this.lines,
      accepted: this.accepted,
      duplicates: this.duplicates,
      skipped: { ...this.skipped, ...withoutDelivered(t.skipped) },
      invalid_utf8_lines: (t.skipped.invalid_utf8 ?? 0) + this.invalidUtf8Bulk,
      bytes_read: t.bytesRead,
      file_size: t.fileSize,
      rotations: { ...t.rotations },
      lost_bytes: t.lostBytes,
      checkpoints_lost: t.checkpointsLost,
      compressed_skipped: t.compressedSkipped,
      caught_up: this.caughtUp,
    };
  }

  private skip(reason: string, offset: number | null, text: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    this.warnLine(reason, excerpt(text), offset);
  }

  /** Logs a line skipped (or, for invalid UTF-8, delivered with U+FFFD), once per reason per window. */
  private warnLine(reason: string, excerptText: string, offset?: number | null): void {
    // invalid_utf8 lines are still delivered (with U+FFFD); their JSON parse decides.
    const delivered = reason === 'invalid_utf8';
    this.warn.warn(
      `${this.options.name}:${reason}`,
      {
        source: this.options.name,
        file: this.options.path,
        reason,
        ...(offset === undefined ? {} : { offset }),
        excerpt: excerptText,
      },
      delivered ? 'line has invalid UTF-8; decoded with U+FFFD' : 'skipped a line',
    );
  }

  /** The bulk applier reports one batch's counts (accepted, repeats, skips with excerpts). */
  countBulk(c: BulkCounts): void {
    this.lines += c.lines ?? 0;
    this.invalidUtf8Bulk += c.invalidUtf8 ?? 0;
    this.accepted += c.accepted;
    this.duplicates += c.duplicates;
    for (const [reason, n] of Object.entries(c.skipped))
      this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
    for (const r of c.rejected) this.warnLine(r.reason, r.excerpt);
  }

  private onBatch(batch: TailBatch): void | Promise<void> {
    if (this.bulkLoader) {
      this.reportTailerSkips(batch);
      this.lines += batch.lines.length;
      return this.bulkLoader.submit(batch.lines, batch.checkpoint);
    }
    this.reportTailerSkips(batch);
    return this.applyLines(batch);
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

  private reportTailerSkips(batch: TailBatch): void {
    for (const s of batch.skipped) this.warnLine(s.reason, s.excerpt, s.offset);
  }

  private applyLines(batch: TailBatch): void | Promise<void> {
    const { lines, checkpoint } = batch;
    const { parse, accept } = this.options;
    const records: T[] = [];
    const duplicates: T[] = [];
    for (const line of lines) {
      this.lines++;
      const result = parse(line);
      if (!result.ok) {
        this.skip(result.reason, null, line);
        continue;
      }
      if (accept && !accept(result.record)) {
        this.duplicates++;
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
    this.accepted += records.length;
    return this.options.onBatch({
      records,
      duplicates,
      lines: lines.length,
      checkpoint,
      bulk: !this.caughtUp || records.length > BULK_THRESHOLD,
      startOffset: batch.startOffset,
      ...(batch.fileKey !== undefined ? { fileKey: batch.fileKey } : {}),
    });
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.options.logger.info(
      { source: this.options.name, lines: this.lines, accepted: this.accepted },
      'first pass done',
    );
    this.options.onCaughtUp?.();
    this.resolveCaughtUp();
  }

  private onTailerEvent(event: TailerEvent): void {
    const log = this.options.logger;
    const fields = { source: this.options.name, ...event };
    switch (event.kind) {
      case 'caught_up':
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
        log.warn(fields, 'cannot read input file; retrying');
        break;
      default:
        log.debug(fields, 'tailer event');
    }
  }
}
