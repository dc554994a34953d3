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
  const out: ScannedAlerts = {
    lines: 0,
    accepted: 0,
    skipped: {},
    invalidUtf8Lines: 0,
    recent: [],
    hostLast: [],
    rejected: [],
    rejectedCounts: {},
  };
  const reject = (reason: string, text: () => string, counted = true) => {
    const n = out.rejectedCounts[reason] ?? 0;
    out.rejectedCounts[reason] = n + 1;
    if (n < EXCERPTS_PER_REASON) out.rejected.push({ reason, excerpt: text() });
    if (reason === 'invalid_utf8') out.invalidUtf8Lines++;
    else if (counted) out.skipped[reason] = (out.skipped[reason] ?? 0) + 1;
  };
  // The newest accepted lines (trimmed to RECENT_LIMIT now and then), and each host's last.
  let recent: Accepted[] = [];
  const hostLast = new Map<string, Accepted>();
  const accept = (line: Accepted, host: string | null) => {
    out.accepted++;
    recent.push(line);
    if (recent.length >= 2 * RECENT_LIMIT) recent = recent.slice(-RECENT_LIMIT);
    if (host !== null) hostLast.set(host, line);
  };
  forEachLine(chunk, fileOffset, maxLineBytes, {
    scanned(start, end) {
      out.lines++;
      if (scannedAlertMs(scanner) === IMPOSSIBLE_TIME)
        reject('invalid_time', () => excerpt(chunk.toString('utf8', start, end)));
      else accept(start, scannedAlertHost(scanner));
    },
    text(line) {
      out.lines++;
      const r = parseAlertLine(line);
      if (!r.ok) reject(r.reason, () => excerpt(line));
      else accept(r.record, r.record.host_id);
    },
    readSkip(reason, text) {
      reject(reason, () => text);
    },
  });
  // Records for what the live state shows, read again from the bytes (the same scan).
  const record = (line: Accepted): AlertRecord => (typeof line === 'number' ? recordAt(chunk, line) : line);
  out.recent = recent.slice(-RECENT_LIMIT).map(record);
  out.hostLast = [...hostLast.values()].map(record);
  scanner.release();
  return out;
}

/** Every alert of a run of whole lines (the catalog writer's rows), as `scanAlertRange` reads them. */
export function alertRecordsOfRange(chunk: Buffer, fileOffset: number, maxLineBytes: number): AlertRecord[] {
  const records: AlertRecord[] = [];
  forEachLine(chunk, fileOffset, maxLineBytes, {
    scanned() {
      const r = scannedAlertRecord(scanner);
      if (r.ok) records.push(r.record);
    },
    text(line) {
      const r = parseAlertLine(line);
      if (r.ok) records.push(r.record);
    },
    readSkip() {},
  });
  scanner.release();
  return records;
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
  const slowPath = (start: number, newline: number) => {
    sink.lines.length = 0;
    sink.skipped.length = 0;
    splitLines(chunk, start, newline, fileOffset, maxLineBytes, sink);
    // The splitter's reports come first, as the tailer's batch carries them before its lines.
    for (const { reason, excerpt: text } of sink.skipped) visit.readSkip(reason, text);
    for (const line of sink.lines) visit.text(line);
  };
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
    slowPath(p, newline);
    p = newline + 1;
  }
  // A chunk cut short (the file shrank under the read): its rest is one line, as the splitter takes it.
  if (p < chunk.length) slowPath(p, chunk.length - 1);
}
