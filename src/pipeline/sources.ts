import type { FileSpan, IngestLog, LineOutcomes } from '../bus/ingest-log.js';
import { type ScannedAlerts, scanAlertRange } from '../feeders/alert-scan.js';
import { EpisodeIdTracker } from '../feeders/episode-ids.js';
import {
  FirstPassLoader,
  type FirstPassSource,
  SCANNER_MIN_RANGES,
  sharedFd,
} from '../feeders/first-pass.js';
import { longestRange } from '../feeders/first-pass-protocol.js';
import { traced, traceMark } from '../feeders/first-pass-trace.js';
import type { CompactIndexBatch } from '../feeders/index-compact.js';
import { MAX_LINE_BYTES, planIndexRanges, type RangePlan, readRange } from '../feeders/index-ranges.js';
import { type FeederBatch, JsonlFeeder, type JsonlFeederStats } from '../feeders/jsonl-feeder.js';
import { parseAlertLine, parseIndexLine } from '../feeders/records.js';
import { releasePrestartedScanner } from '../feeders/scanner-prestart.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';
import type { Logger } from '../util/log.js';

export interface SourceOptions {
  path: string;
  /** The catalog's committed position; null reads from byte 0. */
  start: Checkpoint | null;
  pollIntervalMs: number;
  logger: Logger;
  log: IngestLog;
  onCaughtUp(): void;
  /** Mark each batch with its file span (`IngestBatch.span`): the scale-out agent's appends. @default false */
  fileKeys?: boolean;
  /** Bytes per range of a cold first pass (tests make many small ones). @default 4 MiB */
  firstPassRangeBytes?: number;
}

/** A batch's span, when its reader was asked for file keys. */
function spanOf(b: FeederBatch<unknown>): { span?: FileSpan } {
  return b.fileKey === undefined ? {} : { span: { fileKey: b.fileKey, startOffset: b.startOffset } };
}

/** What a per-line batch carries besides its records (the metrics projection counts it). */
function outcomesOf(b: FeederBatch<unknown>): LineOutcomes {
  return {
    lines: b.lines,
    skipped: b.skipped,
    invalidUtf8Lines: b.invalidUtf8Lines,
    bytes: b.checkpoint.offset - b.startOffset,
  };
}

/** What a source reader reports to metrics: its position (what it read is counted off the log). */
export interface SourceReader {
  readonly isCaughtUp: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): JsonlFeederStats;
}

/**
 * A source's reader: its tailer (`feeder`, replaced once a cold start's ranges are read) and what
 * runs before it. Stopping waits for the ranges, then stops the tailer.
 */
abstract class TailedSource<T> implements SourceReader {
  protected abstract feeder: JsonlFeeder<T>;
  protected started: Promise<unknown> = Promise.resolve();
  protected stopped = false;

  get isCaughtUp(): boolean {
    return this.feeder.isCaughtUp;
  }

  abstract start(): Promise<void>;

  async stop(): Promise<void> {
    this.stopped = true;
    await this.started;
    await this.feeder.stop();
  }

  stats(): JsonlFeederStats {
    return this.feeder.stats();
  }
}

/**
 * The one reader of `alerts.jsonl`: each batch goes to the ingest log. A cold start (no position
 * committed) reads the file as it is in line-aligned ranges first, scanned byte-wise into compact
 * batches (`scanAlertRange`: the counts, the recent window and each host's last alert; the
 * catalog writer reads the rows from the range itself); the tailer then resumes after them. The
 * scale-out agent's reader (`fileKeys`) marks every batch with its file span: it reads per line.
 */
export function alertSource(o: SourceOptions): SourceReader {
  return new AlertSource(o);
}

class AlertSource extends TailedSource<AlertRecord> {
  protected feeder: JsonlFeeder<AlertRecord>;

  constructor(private readonly o: SourceOptions) {
    super();
    this.feeder = this.makeFeeder(o.start);
  }

  /** Resolves once the tailer runs; a cold start's ranges are read before it, in the background. */
  async start(): Promise<void> {
    const plan =
      this.o.start === null && !this.o.fileKeys
        ? planIndexRanges(this.o.path, this.o.firstPassRangeBytes)
        : null;
    if (!plan) {
      this.started = this.feeder.start();
      await this.started;
      return;
    }
    // The tailer that resumes after the ranges takes their rejected lines' log lines meanwhile
    // (its rate limit and held-back counts are the file's, and its stop says what it held back).
    this.feeder = this.makeFeeder(plan.checkpoint);
    this.started = this.readRanges(plan).then(async (cutShortAt) => {
      if (this.stopped) return;
      if (cutShortAt !== null) {
        // A range could not be read: the tailer resumes from there instead (stopping the one made
        // for the plan's end logs what it held back).
        const planned = this.feeder;
        this.feeder = this.makeFeeder(cutShortAt);
        await planned.stop();
      }
      return this.feeder.start();
    });
  }

  private makeFeeder(start: Checkpoint | null): JsonlFeeder<AlertRecord> {
    const o = this.o;
    return new JsonlFeeder<AlertRecord>({
      name: 'alerts',
      path: o.path,
      start,
      pollIntervalMs: o.pollIntervalMs,
      logger: o.logger,
      parse: parseAlertLine,
      onBatch: (b) =>
        o.log.append({
          source: 'alerts',
          kind: 'records',
          records: b.records,
          checkpoint: b.checkpoint,
          bulk: b.bulk,
          ...outcomesOf(b),
          ...spanOf(b),
        }),
      onCaughtUp: o.onCaughtUp,
      ...(o.fileKeys ? { fileKeys: true } : {}),
    });
  }

  /**
   * Each planned range read, scanned and appended in order, yielding between ranges (the server
   * answers meanwhile). Returns null when every range was, else where the tailer resumes: after
   * the last range appended (a read that fails leaves the rest to the tailer, which reports what
   * stands in its way).
   */
  private async readRanges(plan: RangePlan): Promise<Checkpoint | null> {
    // The catalog writer reads the ranges through it: closed once it has, or now if it takes none.
    const file = sharedFd(plan.fd);
    let resume: Checkpoint = { ...plan.checkpoint, offset: 0 };
    // One buffer for every range, as the index's first pass reads its own.
    const buffer = Buffer.allocUnsafe(longestRange(plan.ranges));
    try {
      for (const [start, end] of plan.ranges) {
        if (this.stopped) break;
        let scanned: ScannedAlerts;
        try {
          const chunk = readRange(plan.fd, start, end, buffer);
          scanned = traced('alerts', () => scanAlertRange(chunk, start, MAX_LINE_BYTES));
        } catch (err) {
          this.o.logger.warn(
            { err, file: this.o.path, offset: start },
            'cannot read alerts range; tailing from there',
          );
          return resume;
        }
        const checkpoint = { ...plan.checkpoint, offset: end };
        this.feeder.reportRejected(scanned.rejected, scanned.rejectedCounts);
        await this.o.log.append({
          source: 'alerts',
          kind: 'compact',
          accepted: scanned.accepted,
          recent: scanned.recent,
          hostLast: scanned.hostLast,
          raw: { kind: 'range', file, fileOffset: start, length: end - start },
          checkpoint,
          lines: scanned.lines,
          skipped: scanned.skipped,
          invalidUtf8Lines: scanned.invalidUtf8Lines,
          bytes: end - start,
        });
        resume = checkpoint;
        // A range is a few milliseconds of work: the event loop runs between them.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      file.release();
    }
    return null;
  }
}

/**
 * The one reader of `index.jsonl`. It makes the one duplicate check (an id seen before in this
 * run, or committed to the catalog by an earlier one) and appends each batch to the ingest log.
 * A cold start (empty catalog, no position) reads the file as it is in line-aligned ranges,
 * scanned byte-wise into compact batches; the tailer then resumes after them.
 */
export class IndexSource extends TailedSource<EpisodeRecord> {
  protected feeder: JsonlFeeder<EpisodeRecord>;
  private readonly firstPass: FirstPassLoader | null;
  private readonly ids: EpisodeIdTracker;
  private firstPassBytes: number | null = null;

  /** @param committedBefore asks the catalog whether an id was committed; null when it was empty at start. */
  constructor(
    private readonly o: SourceOptions,
    committedBefore: ((episodeId: string) => boolean) | null,
  ) {
    super();
    this.ids = new EpisodeIdTracker(committedBefore);
    this.firstPass = this.ids.cold
      ? new FirstPassLoader(
          (batch, src) => this.deliverCompact(batch, src),
          () => o.log.append({ source: 'index', kind: 'first_pass_done' }),
        )
      : null;
    this.feeder = this.makeFeeder(o.start, this.firstPass);
  }

  /** Whether this start reads the index cold (an empty catalog): a first pass runs, and ends with `first_pass_done`. */
  get coldStart(): boolean {
    return this.firstPass !== null;
  }

  get rememberedIds(): number {
    return this.ids.rememberedCount;
  }

  /** Resolves once the tailer runs; a ranged first pass goes on in the background (see `whenStarted`). */
  async start(): Promise<void> {
    const plan =
      this.firstPass && this.o.start === null
        ? planIndexRanges(this.o.path, this.o.firstPassRangeBytes)
        : null;
    // No pass for a second thread: a scanner started ahead of need is given back.
    if (!plan || plan.ranges.length < SCANNER_MIN_RANGES) releasePrestartedScanner();
    if (!plan) {
      this.started = this.feeder.start();
      await this.started;
      return;
    }
    this.feeder = this.makeFeeder(plan.checkpoint, null);
    this.started = this.readRanges(plan).then(() => (this.stopped ? undefined : this.feeder.start()));
  }

  private makeFeeder(start: Checkpoint | null, bulk: FirstPassLoader | null): JsonlFeeder<EpisodeRecord> {
    return new JsonlFeeder<EpisodeRecord>({
      name: 'index',
      path: this.o.path,
      start,
      pollIntervalMs: this.o.pollIntervalMs,
      logger: this.o.logger,
      parse: parseIndexLine,
      accept: (r) => this.ids.accept(r.episode_id),
      ...(bulk ? { bulkLoader: bulk } : {}),
      onBatch: (b: FeederBatch<EpisodeRecord>) =>
        this.o.log.append({
          source: 'index',
          kind: 'records',
          records: b.records,
          duplicateIds: b.duplicates.map((d) => d.episode_id),
          checkpoint: b.checkpoint,
          bulk: b.bulk,
          ...outcomesOf(b),
          ...spanOf(b),
        }),
      onCaughtUp: this.o.onCaughtUp,
      ...(this.o.fileKeys ? { fileKeys: true } : {}),
    });
  }

  /** The ranged first pass: every planned range read, scanned and appended in order. */
  private async readRanges(plan: RangePlan): Promise<void> {
    const loader = this.firstPass as FirstPassLoader;
    this.firstPassBytes = plan.checkpoint.offset;
    // The catalog writer may read the ranges through it after this pass: closed on its release.
    const file = sharedFd(plan.fd);
    try {
      traceMark('index planned');
      await loader.scanRanges(file, plan.ranges, plan.checkpoint, () => this.stopped);
      traceMark('first pass delivered');
    } finally {
      file.release();
      await loader.close();
    }
  }

  /** A compact batch: its repeats decided by id hash (a cold start has no catalog to ask), then logged. */
  private deliverCompact(batch: CompactIndexBatch, src: FirstPassSource): void | Promise<void> {
    const { status, hashHi, hashLo } = batch;
    const read = src.read;
    if (this.firstPassBytes !== null && read.bytes > 0) {
      // Room for the whole pass's ids at once, estimated from the first range's lines per byte (no
      // margin: the table holds it at two thirds full, so one more growth at the end is cheaper than a
      // table sized with room to spare throughout).
      this.ids.reserve(Math.ceil((batch.count * this.firstPassBytes) / read.bytes));
      this.firstPassBytes = null;
    }
    const duplicateAt = traced('dedupe', () => this.ids.acceptHashes(hashHi, hashLo, status, batch.count));
    // Lines the tailer read (not a range's bytes): it logged each of their read skips itself.
    this.feeder.reportRejected(read.excerpts, src.raw.kind === 'lines' ? {} : read.skips);
    this.feeder.reportRejected(batch.rejected, batch.rejectedCounts);
    return traced('log append', () =>
      this.o.log.append({
        source: 'index',
        kind: 'compact',
        batch,
        duplicateAt,
        read,
        raw: src.raw,
        checkpoint: src.checkpoint,
        ...(src.ownColumns ? { ownColumns: true } : {}),
      }),
    );
  }
}
