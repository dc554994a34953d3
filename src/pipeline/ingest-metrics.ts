import type { IngestEntry, IngestProjection } from '../bus/ingest-log.js';
import { LINE_OK, SKIP_CODES } from '../feeders/index-compact.js';

export type IngestSource = 'index' | 'alerts';

/** What the ingest log carried for one source file, since start (the `input_*_total` series). */
export interface IngestCounts {
  /** Complete lines read (accepted, repeated or skipped as unparsable). */
  lines: number;
  /** Lines accepted as records. */
  accepted: number;
  /** Index lines that repeated an accepted episode id (counted once). */
  duplicates: number;
  /** Lines skipped, by reason (not `invalid_utf8`: those lines are delivered). */
  skipped: Record<string, number>;
  /** Lines with invalid UTF-8, delivered with U+FFFD. */
  invalid_utf8_lines: number;
  /** Batches appended to the ingest log. */
  batches: number;
  /** Bytes of the file those batches consumed. */
  bytes: number;
}

export function emptyIngestCounts(): IngestCounts {
  return { lines: 0, accepted: 0, duplicates: 0, skipped: {}, invalid_utf8_lines: 0, batches: 0, bytes: 0 };
}

function addSkips(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [reason, n] of Object.entries(from)) {
    if (reason === 'invalid_utf8' || n === 0) continue;
    into[reason] = (into[reason] ?? 0) + n;
  }
}

/**
 * How many of the first `count` lines have each status code. On its own, with nothing after its
 * loop: inline in `apply`, V8's on-stack-replaced code for the loop met the counters' updates after
 * it with no type feedback and was thrown away at the end of a batch (`--trace-deopt`: 7–10 times
 * in a 1M-line first pass, on the main thread).
 */
function linesPerCode(status: Uint8Array, count: number): Uint32Array {
  const perCode = new Uint32Array(SKIP_CODES.length + 1);
  for (let i = 0; i < count; i++) {
    const code = status[i] as number;
    perCode[code] = (perCode[code] as number) + 1;
  }
  return perCode;
}

/**
 * The metrics projection of the ingest log (DESIGN §3): the counts of what each source's reader
 * read — lines, records, skips by reason, repeats, batches and bytes — taken from the batches the
 * log carried, and from nowhere else (no reader keeps counts of its own). What a reader alone
 * knows (its position, the file's size, rotations) stays with the reader.
 */
export class IngestMetrics implements IngestProjection {
  readonly #counts: Record<IngestSource, IngestCounts> = {
    index: emptyIngestCounts(),
    alerts: emptyIngestCounts(),
  };

  apply(entry: IngestEntry): void {
    if (entry.kind === 'first_pass_done') return;
    const c = this.#counts[entry.source];
    c.batches++;
    if (entry.kind === 'records' || entry.source === 'alerts') {
      c.lines += entry.lines;
      c.accepted += entry.kind === 'records' ? entry.records.length : entry.accepted;
      if (entry.source === 'index') c.duplicates += entry.duplicateIds.length;
      addSkips(c.skipped, entry.skipped);
      c.invalid_utf8_lines += entry.invalidUtf8Lines;
      c.bytes += entry.bytes;
      return;
    }
    // A compact batch: one status code per line (LINE_OK, or a parse skip), and what reading
    // its bytes skipped before parsing.
    const { batch, duplicateAt, read } = entry;
    const perCode = linesPerCode(batch.status, batch.count);
    c.lines += batch.count;
    c.accepted += (perCode[LINE_OK] as number) - duplicateAt.length;
    c.duplicates += duplicateAt.length;
    SKIP_CODES.forEach((reason, k) => {
      const n = perCode[k + 1] as number;
      if (n > 0) c.skipped[reason] = (c.skipped[reason] ?? 0) + n;
    });
    // The only count not in the status codes: a torn fragment's line is itself valid.
    const torn = batch.rejectedCounts.torn_line ?? 0;
    if (torn > 0) c.skipped.torn_line = (c.skipped.torn_line ?? 0) + torn;
    addSkips(c.skipped, read.skips);
    c.invalid_utf8_lines += read.skips.invalid_utf8 ?? 0;
    c.bytes += read.bytes;
  }

  /** A copy of one source's counts. */
  counts(source: IngestSource): IngestCounts {
    const c = this.#counts[source];
    return { ...c, skipped: { ...c.skipped } };
  }
}
