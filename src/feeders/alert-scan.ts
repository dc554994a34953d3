import { type AlertRecord, RECENT_LIMIT } from '../protocol/index.js';
import { IMPOSSIBLE_TIME } from '../util/time.js';
import {
  alertLineScanner,
  excerpt,
  parseAlertLine,
  scannedAlertHost,
  scannedAlertMs,
  scannedAlertRecord,
} from './records.js';
import { type LineSink, splitLines } from './tail/lines.js';

/**
 * A cold start's pass over `alerts.jsonl` in byte ranges (as the index's first pass reads the
 * index), without a record per line: each line is scanned where it lies and judged (any object
 * line is an alert; an impossible time rejects it), and only what the live state shows is built —
 * the last RECENT_LIMIT alerts and each host's last. The catalog writer reads the range again
 * (`alertRecordsOfRange`) for its rows. Before, every line became a string, then a record, and
 * every record was copied to the writer's thread: on a 20,000-alert root ≈ 0.45 s of CPU of a
 * 1.3 s first pass (two cores), most of it allocation and its garbage collection.
 *
 * A line the byte scanner declines — invalid JSON or UTF-8, a BOM, NUL padding, a line over the
 * limit — goes to the tailer's own splitter and the per-line parser (`parseAlertLine`), so both
 * accept, count and report exactly as the tailer's path does (`alert-scan.test.ts`).
 */

const NL = 0x0a;
/** Rejected lines per reason kept with an excerpt for the log (the rest are counted). */
const EXCERPTS_PER_REASON = 3;

/** What a range of alert lines held, as the live state and the metrics take it. */
export interface ScannedAlerts {
  /** Lines read (blank lines aside, as the tailer counts them). */
  lines: number;
  /** Lines that are alerts. */
  accepted: number;
  /** Lines not taken, by reason: parse skips and what the splitter dropped (not `invalid_utf8`). */
  skipped: Record<string, number>;
  /** Lines with invalid UTF-8, read with U+FFFD (the splitter's report). */
  invalidUtf8Lines: number;
  /** The last RECENT_LIMIT alerts, in file order. */
  recent: AlertRecord[];
  /** Each host's last alert (alerts without a host aside). */
  hostLast: AlertRecord[];
  /** The first rejected lines per reason, for the log; `counts` has every one, by reason. */
  rejected: Array<{ reason: string; excerpt: string }>;
  rejectedCounts: Record<string, number>;
}

/** Reused for every range (one range is scanned at a time, on one thread). */
const scanner = alertLineScanner();

/** An accepted line: where it starts in the chunk (scanned bytes), or its record (read as text). */
type Accepted = number | AlertRecord;

/**
 * The alerts of a run of whole lines: `chunk` ends with '\n' (a planned range), its first byte
 * at `fileOffset` in the file; lines longer than `maxLineBytes` are skipped, as the tailer does.
 */
export function scanAlertRange(chunk: Buffer, fileOffset: number, maxLineBytes: number): ScannedAlerts {
  const summary = new RangeSummary(chunk);
  forEachLine(chunk, fileOffset, maxLineBytes, summary);
  const out = summary.finish();
  scanner.release();
  return out;
}

/** Every alert of a run of whole lines (the catalog writer's rows), as `scanAlertRange` reads them. */
export function alertRecordsOfRange(chunk: Buffer, fileOffset: number, maxLineBytes: number): AlertRecord[] {
  const all = new AllRecords();
  forEachLine(chunk, fileOffset, maxLineBytes, all);
  scanner.release();
  return all.records;
}

/**
 * What `scanAlertRange` keeps of a range's lines. A class, not closures made per call: the loop's
 * compiled code is bound to what it calls, and a new closure per range threw it away each time
 * (`--trace-deopt`: "wrong call target").
 */
class RangeSummary implements LineVisitor {
  private readonly out: ScannedAlerts = {
    lines: 0,
    accepted: 0,
    skipped: {},
    invalidUtf8Lines: 0,
    recent: [],
    hostLast: [],
    rejected: [],
    rejectedCounts: {},
  };
  /** The newest accepted lines (trimmed to RECENT_LIMIT now and then). */
  private recent: Accepted[] = [];
  private readonly hostLast = new Map<string, Accepted>();

  constructor(private readonly chunk: Buffer) {}

  scanned(start: number, end: number): void {
    this.out.lines++;
    if (scannedAlertMs(scanner) === IMPOSSIBLE_TIME)
      this.reject('invalid_time', excerpt(this.chunk.toString('utf8', start, end)));
    else this.accept(start, scannedAlertHost(scanner));
  }

  text(line: string): void {
    this.out.lines++;
    const r = parseAlertLine(line);
    if (!r.ok) this.reject(r.reason, excerpt(line));
    else this.accept(r.record, r.record.host_id);
  }

  readSkip(reason: string, text: string): void {
    this.reject(reason, text);
  }

  /** Records for what the live state shows, read again from the bytes (the same scan). */
  finish(): ScannedAlerts {
    const record = (line: Accepted): AlertRecord =>
      typeof line === 'number' ? recordAt(this.chunk, line) : line;
    this.out.recent = this.recent.slice(-RECENT_LIMIT).map(record);
    this.out.hostLast = [...this.hostLast.values()].map(record);
    return this.out;
  }

  private accept(line: Accepted, host: string | null): void {
    this.out.accepted++;
    this.recent.push(line);
    if (this.recent.length >= 2 * RECENT_LIMIT) this.recent = this.recent.slice(-RECENT_LIMIT);
    if (host !== null) this.hostLast.set(host, line);
  }

  private reject(reason: string, text: string): void {
    const out = this.out;
    const n = out.rejectedCounts[reason] ?? 0;
    out.rejectedCounts[reason] = n + 1;
    if (n < EXCERPTS_PER_REASON) out.rejected.push({ reason, excerpt: text });
    if (reason === 'invalid_utf8') out.invalidUtf8Lines++;
    else out.skipped[reason] = (out.skipped[reason] ?? 0) + 1;
  }
}

/** Every alert of a range, in order (`alertRecordsOfRange`). */
class AllRecords implements LineVisitor {
  readonly records: AlertRecord[] = [];

  scanned(): void {
    const r = scannedAlertRecord(scanner);
    if (r.ok) this.records.push(r.record);
  }

  text(line: string): void {
    const r = parseAlertLine(line);
    if (r.ok) this.records.push(r.record);
  }

  readSkip(): void {}
}

/** The record of the line at `start` (one the scanner accepted before). */
function recordAt(chunk: Buffer, start: number): AlertRecord {
  if (scanner.scan(chunk, start) < 0) throw new Error(`alert line at ${start} no longer scans`);
  const r = scannedAlertRecord(scanner);
  if (!r.ok) throw new Error(`alert line at ${start} no longer reads as an alert`);
  return r.record;
}

interface LineVisitor {
  /** A line the byte scanner accepted (`scanner` holds it): its bytes are [start, end). */
  scanned(start: number, end: number): void;
  /** A line it declined, as the tailer's splitter delivers it. */
  text(line: string): void;
  /** What the splitter skipped or repaired, by reason (`invalid_utf8` lines are delivered too). */
  readSkip(reason: string, excerpt: string): void;
}

/** Walks the lines of `chunk` (ending with '\n'): scanned where they lie, or split as text. */
function forEachLine(chunk: Buffer, fileOffset: number, maxLineBytes: number, visit: LineVisitor): void {
  const sink: LineSink = { lines: [], skipped: [] };
  const p = scanLines(chunk, fileOffset, maxLineBytes, visit, sink);
  // A chunk cut short (the file shrank under the read): its rest is one line, as the splitter takes it.
  if (p < chunk.length) declined(chunk, p, chunk.length - 1, fileOffset, maxLineBytes, visit, sink);
}

/**
 * The hot loop of `forEachLine`, on its own, returning where it stopped (as `scanLines` in
 * index-scan.ts, and for the same reason: code after an on-stack-replaced loop that never ran
 * had V8 throw the loop's compiled code away).
 */
function scanLines(
  chunk: Buffer,
  fileOffset: number,
  maxLineBytes: number,
  visit: LineVisitor,
  sink: LineSink,
): number {
  const last = chunk.lastIndexOf(NL);
  let p = 0;
  while (p <= last) {
    const nl = scanner.scan(chunk, p);
    if (nl >= 0 && chunk[nl] === NL && nl - p <= maxLineBytes) {
      visit.scanned(p, nl);
      p = nl + 1;
      continue;
    }
    const newline = chunk.indexOf(NL, p);
    declined(chunk, p, newline, fileOffset, maxLineBytes, visit, sink);
    p = newline + 1;
  }
  return p;
}

/** Lines the byte scanner declined, through the tailer's splitter and the per-line parser. */
function declined(
  chunk: Buffer,
  start: number,
  newline: number,
  fileOffset: number,
  maxLineBytes: number,
  visit: LineVisitor,
  sink: LineSink,
): void {
  sink.lines.length = 0;
  sink.skipped.length = 0;
  splitLines(chunk, start, newline, fileOffset, maxLineBytes, sink);
  // The splitter's reports come first, as the tailer's batch carries them before its lines.
  for (const { reason, excerpt: text } of sink.skipped) visit.readSkip(reason, text);
  for (const line of sink.lines) visit.text(line);
}
