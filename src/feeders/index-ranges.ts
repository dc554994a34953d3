import fs from 'node:fs';
import { FINGERPRINT_BYTES, sha1Hex } from './tail/fingerprint.js';
import type { Checkpoint } from './tail/types.js';

/**
 * The first pass of a cold start, read in ranges: the index as it is at start is cut into
 * line-aligned byte ranges, read through one descriptor opened at the plan (so a rotation
 * meanwhile cannot swap the file under them) and scanned byte-wise. The live tailer then resumes
 * at `end` from a checkpoint of this very file, with all its rotation handling.
 */
export interface RangePlan {
  fd: number;
  ranges: Array<[start: number, end: number]>;
  /** Where the tailer resumes: after the last complete line. */
  checkpoint: Checkpoint;
}

const RANGE_BYTES = 4 * 1024 * 1024;
/** The tailer's default line limit (longer lines are skipped). */
export const MAX_LINE_BYTES = 1024 * 1024;
const WINDOW = 64 * 1024;

function readAt(fd: number, position: number, length: number, into?: Buffer): Buffer {
  const buf = into && into.length >= length ? into : Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * The first look at a range boundary: a line there ends within a few hundred bytes, so one page
 * is read first and wider windows only when it holds no line feed.
 */
const FIRST_WINDOW = 4 * 1024;

/**
 * Offset just past the first '\n' at or after `from` (searching at most `limit` bytes, a multiple
 * of WINDOW); -1 if none. Read into `scratch` (WINDOW bytes, shared by the plan's look-ups): a
 * fresh 64 KiB buffer per boundary cost page faults on the critical path of a cold start, before
 * the scanner can take its first range (≈ 13 µs a page on this VM; 53–87 boundaries at 1M lines).
 */
function nextLineStart(fd: number, from: number, size: number, limit: number, scratch: Buffer): number {
  const stop = Math.min(size, from + limit);
  for (let pos = from, window = FIRST_WINDOW; pos < stop; pos += window, window = WINDOW) {
    const chunk = readAt(fd, pos, Math.min(window, stop - pos), scratch);
    const nl = chunk.indexOf(10);
    if (nl >= 0) return pos + nl + 1;
  }
  return -1;
}

/** Offset just past the last '\n' before `size` (searching the last `limit` bytes); -1 if none. */
function lastLineEnd(fd: number, size: number, limit: number, scratch: Buffer): number {
  for (let end = size; end > Math.max(0, size - limit); end -= WINDOW) {
    const start = Math.max(0, end - WINDOW);
    const nl = readAt(fd, start, end - start, scratch).lastIndexOf(10);
    if (nl >= 0) return start + nl + 1;
  }
  return -1;
}

/**
 * Plans the ranges, or returns null (the caller then reads the file through the tailer alone):
 * no file, an empty one, or a line longer than the tailer's limit near a boundary (such a line
 * must be skipped without being held whole, which only the tailer's streaming reader does).
 */
export function planIndexRanges(path: string, rangeBytes = RANGE_BYTES): RangePlan | null {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  const give = (plan: RangePlan | null) => {
    if (plan === null) fs.closeSync(fd);
    return plan;
  };
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.size === 0) return give(null);
  // Pages of it are touched only as far as the reads go.
  const scratch = Buffer.allocUnsafeSlow(WINDOW);
  const end = lastLineEnd(fd, st.size, MAX_LINE_BYTES, scratch);
  if (end <= 0) return give(null);
  const ranges: Array<[number, number]> = [];
  let pos = 0;
  while (pos < end) {
    let next =
      pos + rangeBytes >= end ? end : nextLineStart(fd, pos + rangeBytes, end, MAX_LINE_BYTES, scratch);
    if (next < 0) return give(null);
    if (next > end) next = end;
    ranges.push([pos, next]);
    pos = next;
  }
  const head = readAt(fd, 0, Math.min(st.size, FINGERPRINT_BYTES));
  return give({
    fd,
    ranges,
    checkpoint: {
      dev: st.dev,
      ino: st.ino,
      fingerprint: sha1Hex(head),
      fingerprintLen: head.length,
      offset: end,
    },
  });
}

/**
 * The bytes of one planned range, read into `into` when it is large enough (one buffer serves
 * every range: fresh pages for every 4 MiB cost page faults and garbage collections).
 */
export function readRange(fd: number, start: number, end: number, into?: Buffer): Buffer {
  return readAt(fd, start, end - start, into);
}
