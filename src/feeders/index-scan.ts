import { CompactBatchBuilder, type CompactIndexBatch } from './index-compact.js';
import { JsonLineScanner } from './json-line.js';
import { INDEX_FIELDS } from './records.js';
import { type LineSink, splitLines } from './tail/lines.js';

/**
 * The cold start's first pass over index bytes, without decoding each line to a string: each
 * line is scanned where it lies (`JsonLineScanner`: any valid JSON object line), its id hashed
 * and its time read from the bytes. A line the scanner declines or rejects — invalid JSON,
 * invalid UTF-8, a BOM, NUL padding, an id missing, a line over the limit — goes to the tailer's
 * own splitter and the per-line parser, so both accept and report exactly alike.
 */

const NL = 0x0a;

/** Reused for every range (one range is scanned at a time). */
const scanner = new JsonLineScanner(INDEX_FIELDS);

export interface ScannedRange {
  batch: CompactIndexBatch;
  /**
   * What the tailer's splitter reported of the lines it read, by reason (lines over the limit,
   * NUL padding, invalid UTF-8), with the first excerpt of each for the log.
   */
  readSkips: Record<string, number>;
  readSkipExcerpts: Array<{ reason: string; excerpt: string }>;
}

/**
 * The compact batch of a run of whole lines: `chunk` ends with '\n' (a planned range), its first
 * byte is at `fileOffset` in the file. Lines longer than `maxLineBytes` are skipped and counted,
 * as the tailer would.
 */
export function scanIndexRange(
  chunk: Buffer,
  fileOffset: number,
  maxLineBytes: number,
  /** Reused (reset) when given: the caller is done with the batch it built before. */
  into?: CompactBatchBuilder,
): ScannedRange {
  // About 240 bytes per receiver line: size the arrays once.
  const builder = into ?? new CompactBatchBuilder(Math.ceil(chunk.length / 200));
  builder.reset();
  const sink: LineSink = { lines: [], skipped: [] };
  const readSkips: Record<string, number> = {};
  const readSkipExcerpts: ScannedRange['readSkipExcerpts'] = [];
  // The tailer's splitter and the string parser, for a run of lines the byte reader declined.
  const slowPath = (start: number, newline: number) => {
    sink.lines.length = 0;
    sink.skipped.length = 0;
    splitLines(chunk, start, newline, fileOffset, maxLineBytes, sink);
    for (const line of sink.lines) builder.addLine(line);
    for (const { reason, excerpt } of sink.skipped) {
      if (readSkips[reason] === undefined) readSkipExcerpts.push({ reason, excerpt });
      readSkips[reason] = (readSkips[reason] ?? 0) + 1;
    }
  };

  const p = scanLines(chunk, maxLineBytes, builder, slowPath);
  // A chunk cut short (the file shrank under the read): its rest is one line, as the tailer's
  // splitter would take it.
  if (p < chunk.length) slowPath(p, chunk.length - 1);
  const batch = builder.finish(chunk);
  // The range's buffer is reused or dropped by the caller: this module's scanner lets go of it.
  scanner.release();
  return { batch, readSkips, readSkipExcerpts };
}

/**
 * The hot loop of `scanIndexRange`, on its own: it returns where it stopped and touches nothing
 * after its loop. Inline there, V8's on-stack-replaced code for the loop met the function's tail
 * with no type feedback and was thrown away at the end of every range (`--trace-deopt`: one
 * deoptimization per range, 1–7 ms each); now none.
 */
function scanLines(
  chunk: Buffer,
  maxLineBytes: number,
  builder: CompactBatchBuilder,
  slowPath: (start: number, newline: number) => void,
): number {
  const last = chunk.lastIndexOf(NL);
  let p = 0;
  while (p <= last) {
    const nl = scanner.scan(chunk, p);
    if (
      nl >= 0 &&
      chunk[nl] === NL &&
      nl - p <= maxLineBytes &&
      builder.addScanned(scanner, p, nl) === null
    ) {
      p = nl + 1;
      continue;
    }
    const newline = chunk.indexOf(NL, p);
    slowPath(p, newline);
    p = newline + 1;
  }
  return p;
}
