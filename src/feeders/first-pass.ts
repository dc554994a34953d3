import fs from 'node:fs';
import { CompactBatchBuilder, type CompactIndexBatch, compactIndexBatch } from './index-compact.js';
import { MAX_LINE_BYTES, readRange } from './index-ranges.js';
import { type ScannedRange, scanIndexRange } from './index-scan.js';
import type { BulkLoader } from './jsonl-feeder.js';
import { type LineSink, splitLines } from './tail/lines.js';
import type { Checkpoint } from './tail/types.js';

/** What reading a range skipped or repaired, by reason, with excerpts for the log. */
export interface RangeRead {
  /** The range's length in bytes. */
  bytes: number;
  skips: ScannedRange['readSkips'];
  excerpts: ScannedRange['readSkipExcerpts'];
}

/**
 * A first-pass batch as read, once. A planned range's bytes come with the descriptor they were
 * read through (`file`), open until released: the catalog writer reads the range again through it
 * (a read from the page cache), rather than the bytes being copied to its thread — memory freed
 * on another thread is not reused here, and a million lines' worth of fresh pages cost this
 * thread more in page faults than scanning them (measured: 72,000 faults, +0.7 s).
 */
export type RawLines =
  | { kind: 'bytes'; bytes: Uint8Array; fileOffset: number; file?: SharedFd }
  | { kind: 'lines'; lines: string[] };

/** A descriptor shared by the first pass and whoever reads its ranges later: closed on the last release. */
export interface SharedFd {
  readonly fd: number;
  retain(): void;
  release(): void;
}

/** `fd` with one reference (the opener's); closed once every retain is released. */
export function sharedFd(fd: number): SharedFd {
  let refs = 1;
  return {
    fd,
    retain() {
      if (refs <= 0) throw new Error('descriptor already closed');
      refs++;
    },
    release() {
      if (refs <= 0) return;
      if (--refs === 0) fs.closeSync(fd);
    },
  };
}

/** The whole lines of a first-pass batch, split as the tailer splits them. */
export function rawLines(raw: RawLines): string[] {
  if (raw.kind === 'lines') return raw.lines;
  const bytes = Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
  const sink: LineSink = { lines: [], skipped: [] };
  if (bytes.length > 0) splitLines(bytes, 0, bytes.length - 1, raw.fileOffset, MAX_LINE_BYTES, sink);
  return sink.lines;
}

/** Where a first-pass batch came from: the raw lines as read (once) and the position after them. */
export interface FirstPassSource {
  /** What reading a planned range skipped; absent for the tailer's batches (it reports its own). */
  read?: RangeRead;
  raw: RawLines;
  checkpoint: Checkpoint;
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
  private closed = false;

  /**
   * `deliver` gets each batch with its source; the batch and the raw bytes are only valid until
   * it returns (or its promise settles): both are reused for the next range.
   */
  constructor(
    private readonly deliver: (batch: CompactIndexBatch, source: FirstPassSource) => void | Promise<void>,
    /** Called once, when the pass is over (`close`). */
    private readonly onDone: () => void | Promise<void> = () => {},
  ) {}

  /**
   * Reads the range [start, end) of the file open at `file` (whole lines), scans it, delivers it;
   * `checkpoint` is the plan's, and this range's position is its offset `end`.
   */
  async scanRange(file: SharedFd, start: number, end: number, checkpoint: Checkpoint): Promise<void> {
    if (this.readBuffer.length < end - start) this.readBuffer = Buffer.allocUnsafe(end - start);
    this.builder ??= new CompactBatchBuilder(Math.ceil((end - start) / 200));
    const bytes = readRange(file.fd, start, end, this.readBuffer);
    const scanned = scanIndexRange(bytes, start, MAX_LINE_BYTES, this.builder);
    await this.deliver(scanned.batch, {
      read: { bytes: end - start, skips: scanned.readSkips, excerpts: scanned.readSkipExcerpts },
      raw: { kind: 'bytes', bytes, fileOffset: start, file },
      checkpoint: { ...checkpoint, offset: end },
    });
    await new Promise((resolve) => setImmediate(resolve));
  }

  async submit(lines: string[], checkpoint: Checkpoint): Promise<void> {
    await this.deliver(compactIndexBatch(lines), { raw: { kind: 'lines', lines }, checkpoint });
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readBuffer = Buffer.alloc(0);
    this.builder = null;
    await this.onDone();
  }
}
