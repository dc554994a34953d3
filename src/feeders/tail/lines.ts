/**
 * Turns a run of complete lines (bytes) into strings. The fast path decodes the whole run once and
 * splits the string, so a 1 MiB chunk costs one `toString` and one `split`, not one Buffer slice
 * per line. Lines that are too long, not valid UTF-8 or hold a NUL byte take a slower per-line path.
 *
 * Leading NUL bytes are crash padding: a receiver that crashed mid-write can leave a run of NULs
 * where its last write should have been (the file's size was extended, the data never landed),
 * and after a restart it appends a fresh valid line right behind them — so the NUL run and the
 * next record share one line. The NULs are stripped and reported once per line as `nul_padding`
 * (they are what is left of a lost write); the rest is delivered, and a line of NULs only is
 * dropped. A NUL anywhere else stays in the line (its JSON parse rejects it).
 */
import { isUtf8 } from 'node:buffer';
import type { SkippedLine } from './types.js';

/** How much of a line an excerpt keeps. */
export const EXCERPT_CHARS = 120;

export interface LineSink {
  lines: string[];
  skipped: SkippedLine[];
}

/** The first characters of the bytes at `start`, for a log line. */
export function excerptAt(chunk: Buffer, start: number, end: number): string {
  // 4 bytes per character at most: decode no more than needed.
  const stop = Math.min(end, start + EXCERPT_CHARS * 4);
  let text = chunk.toString('utf8', start, stop);
  const nl = text.indexOf('\n');
  if (nl >= 0) text = text.slice(0, nl);
  return text.slice(0, EXCERPT_CHARS);
}

/** Adds one record: one trailing '\r' removed, blank lines dropped. */
function pushLine(sink: LineSink, raw: string): void {
  const line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
  if (line.length === 0) return;
  const first = line.charCodeAt(0);
  // Printable ASCII first (every JSON object line) cannot be blank: skip the trim.
  if ((first <= 32 || first > 126) && line.trim() === '') return;
  sink.lines.push(line);
}

/**
 * Adds the lines in `chunk[start, end)`, where `end` is the index of a '\n' (the run's last line
 * ends there; every line ends with '\n'). `fileOffset` is the file position of `chunk[0]`.
 */
export function splitLines(
  chunk: Buffer,
  start: number,
  end: number,
  fileOffset: number,
  maxLineBytes: number,
  sink: LineSink,
): void {
  const run = chunk.subarray(start, end);
  // indexOf is a memchr: a run without NUL (every sane index) pays one fast scan for the check.
  if (run.indexOf(0) < 0 && isUtf8(run)) {
    let text = run.toString('utf8');
    if (fileOffset + start === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const parts = text.split('\n');
    if (end - start <= maxLineBytes || parts.every((p) => fitsIn(p, maxLineBytes))) {
      for (const part of parts) pushLine(sink, part);
      return;
    }
  }
  splitLinesOneByOne(chunk, start, end, fileOffset, maxLineBytes, sink);
}

/** Valid UTF-8 re-encodes to the same bytes, so `byteLength` is the line's size on disk. */
function fitsIn(part: string, maxLineBytes: number): boolean {
  return part.length * 3 <= maxLineBytes || Buffer.byteLength(part) <= maxLineBytes;
}

/** The slow path: per-line byte ranges, so offsets are exact and bad lines can be singled out. */
function splitLinesOneByOne(
  chunk: Buffer,
  start: number,
  end: number,
  fileOffset: number,
  maxLineBytes: number,
  sink: LineSink,
): void {
  let lineStart = start;
  while (lineStart <= end) {
    let lineEnd = chunk.indexOf(10, lineStart);
    if (lineEnd < 0 || lineEnd > end) lineEnd = end;
    const lineOffset = fileOffset + lineStart;
    if (lineEnd - lineStart > maxLineBytes) {
      sink.skipped.push({
        reason: 'line_too_long',
        offset: lineOffset,
        excerpt: excerptAt(chunk, lineStart, lineEnd),
      });
    } else {
      const recordStart = skipNulPadding(chunk, lineStart, lineEnd, lineOffset, sink);
      const offset = fileOffset + recordStart;
      const bytes = chunk.subarray(recordStart, lineEnd);
      let text = bytes.toString('utf8');
      if (offset === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (!isUtf8(bytes)) {
        sink.skipped.push({ reason: 'invalid_utf8', offset, excerpt: text.slice(0, EXCERPT_CHARS) });
      }
      pushLine(sink, text);
    }
    lineStart = lineEnd + 1;
  }
}

/**
 * The index of the first byte after the leading NULs of `chunk[lineStart, lineEnd)`; reports the
 * padding (once per line, at the line's offset, with an excerpt of what follows it) when there is
 * any.
 */
function skipNulPadding(
  chunk: Buffer,
  lineStart: number,
  lineEnd: number,
  lineOffset: number,
  sink: LineSink,
): number {
  let at = lineStart;
  while (at < lineEnd && chunk[at] === 0) at++;
  if (at > lineStart) {
    const rest = excerptAt(chunk, at, lineEnd);
    sink.skipped.push({
      reason: 'nul_padding',
      offset: lineOffset,
      excerpt: `<${at - lineStart} NUL bytes>${rest}`.slice(0, EXCERPT_CHARS),
    });
  }
  return at;
}
