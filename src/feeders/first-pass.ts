import { CompactBatchBuilder, type CompactIndexBatch, compactIndexBatch } from './index-compact.js';
import { MAX_LINE_BYTES, readRange } from './index-ranges.js';
import { type ScannedRange, scanIndexRange } from './index-scan.js';
import type { BulkLoader } from './jsonl-feeder.js';

/** What reading a range skipped or repaired, by reason, with excerpts for the log. */
export interface RangeRead {
  /** The range's length in bytes. */
  bytes: number;
  skips: ScannedRange['readSkips'];
  excerpts: ScannedRange['readSkipExcerpts'];
}

/**
 * The cold start's first pass over the index, on this thread: planned byte ranges are read and
 * scanned byte-wise (`scanRange`), or — when no range could be planned — the tailer's batches of
 * lines are parsed compactly (`submit`, the feeder's bulk loader). Either way each batch reaches
 * `deliver` in file order, and the event loop runs between ranges (a range is a few
 * milliseconds of work), so the server answers while a large index loads.
 *
 * Why not worker threads: measured on two cores, a parse worker cost about 0.3 s more CPU over a
 * 1M-line index (its own start-up, compilation and collection) than it took off this thread, and
 * a busy machine made the pass slower with it than without; this thread also has to check every
 * id for repeats in order, which no worker can share.
 */
export class FirstPassLoader implements BulkLoader {
  /** Reused for every range. */
  private readBuffer = Buffer.alloc(0);
  /** Reused for every range too: `deliver` applies a batch before the next range is read. */
  private builder: CompactBatchBuilder | null = null;

  /** `read` comes with ranges: what the reading itself skipped (the tailer counts its own). */
  constructor(private readonly deliver: (batch: CompactIndexBatch, read?: RangeRead) => void) {}

  /** Reads the range [start, end) of the file open at `fd` (whole lines), scans it, delivers it. */
  async scanRange(fd: number, start: number, end: number): Promise<void> {
    if (this.readBuffer.length < end - start) this.readBuffer = Buffer.allocUnsafe(end - start);
    this.builder ??= new CompactBatchBuilder(Math.ceil((end - start) / 200));
    const scanned = scanIndexRange(
      readRange(fd, start, end, this.readBuffer),
      start,
      MAX_LINE_BYTES,
      this.builder,
    );
    this.deliver(scanned.batch, {
      bytes: end - start,
      skips: scanned.readSkips,
      excerpts: scanned.readSkipExcerpts,
    });
    await new Promise((resolve) => setImmediate(resolve));
  }

  async submit(lines: string[]): Promise<void> {
    this.deliver(compactIndexBatch(lines));
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    this.readBuffer = Buffer.alloc(0);
    this.builder = null;
  }
}
