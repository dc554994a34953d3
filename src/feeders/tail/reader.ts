/**
 * Reads complete lines from an open file in big chunks. It never consumes a half-written last
 * line (the next read starts again at that line's first byte), and it walks past a line longer
 * than `maxLineBytes` chunk by chunk, so such a line costs one chunk of memory, not its size.
 */
import type { TailHandle } from './fs.js';
import { excerptAt, type LineSink, splitLines } from './lines.js';

/** Where reading one file stands. Only `offset` goes into a checkpoint. */
export interface ReadPosition {
  /** Bytes consumed: always at a line boundary. */
  offset: number;
  /** Walking past a line too long to keep: where it starts and how far it has been scanned. */
  longLine: { start: number; scanned: number; excerpt: string } | null;
}

export interface ReadResult extends LineSink {
  next: ReadPosition;
  /** The end of the file was reached (a half-written last line may be waiting). */
  eof: boolean;
}

export interface LineReaderOptions {
  maxLineBytes: number;
  maxBatchBytes: number;
}

/** Big reads: one `toString` + `split` per MiB is what makes a backlog cheap. */
const MAX_CHUNK = 1024 * 1024;

/**
 * What the file is expected to hold past the position, at most this many bytes, is read into a
 * buffer just one byte longer (`TailHandle` reads up to 64 KiB on the calling thread): a live
 * batch of a few KiB is a `pread` of microseconds, not a trip through the thread pool for a
 * 1 MiB buffer. A read that fills it (the file grew meanwhile) is made again in full.
 */
const SIZED_READ_MAX = 32 * 1024;

export const START: ReadPosition = { offset: 0, longLine: null };

export class LineReader {
  readonly maxLineBytes: number;
  readonly maxBatchBytes: number;
  // One chunk holds any line we keep plus its '\n': a chunk without '\n' is a line too long.
  private readonly buf: Buffer;

  constructor(o: LineReaderOptions) {
    this.maxLineBytes = o.maxLineBytes;
    this.maxBatchBytes = o.maxBatchBytes;
    this.buf = Buffer.allocUnsafe(Math.max(o.maxLineBytes + 1, Math.min(o.maxBatchBytes, MAX_CHUNK)));
  }

  /**
   * Reads from `from` until about `maxBatchBytes` are consumed or the end of the file.
   * `sizeHint`: the file's size when last seen, if known (its first read is sized to it).
   */
  async read(handle: TailHandle, from: ReadPosition, sizeHint?: number): Promise<ReadResult> {
    const sink: LineSink = { lines: [], skipped: [] };
    const buf = this.buf;
    let offset = from.offset;
    let long = from.longLine ? { ...from.longLine } : null;
    let pos = long ? long.scanned : offset;
    let eof = false;
    let expected = sizeHint === undefined ? 0 : sizeHint - pos;
    while (offset - from.offset < this.maxBatchBytes) {
      // A short read proves the end of the file whatever the buffer's length, so a read into a
      // buffer longer than what is expected decides every line as the full one would.
      const sized = expected > 0 && expected < SIZED_READ_MAX && expected + 1 <= buf.length;
      const view = sized ? buf.subarray(0, expected + 1) : buf;
      expected = 0;
      const n = await handle.read(view, pos);
      if (sized && n === view.length) continue; // grew past the hint: read again in full
      if (n === 0) {
        eof = true;
        break;
      }
      const chunk = n === view.length ? view : view.subarray(0, n);
      let start = 0;
      if (long) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          pos += n;
          long.scanned = pos;
          continue;
        }
        sink.skipped.push({ reason: 'line_too_long', offset: long.start, excerpt: long.excerpt });
        long = null;
        start = nl + 1;
        offset = pos + start;
      }
      const lastNl = chunk.lastIndexOf(10);
      if (lastNl >= start) {
        splitLines(chunk, start, lastNl, pos, this.maxLineBytes, sink);
        offset = pos + lastNl + 1;
        pos = offset;
        // A short read of a regular file means its end: spare the read that would return 0.
        if (n < view.length) {
          eof = true;
          break;
        }
      } else if (n - start > this.maxLineBytes) {
        long = { start: pos + start, scanned: pos + n, excerpt: excerptAt(chunk, start, n) };
        pos += n;
      } else if (start > 0) {
        pos = offset; // re-read the unfinished line from its first byte
      } else {
        eof = true; // a half-written last line: wait for its '\n'
        break;
      }
    }
    return { lines: sink.lines, skipped: sink.skipped, next: { offset, longLine: long }, eof };
  }
}
