import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';
import { IMPOSSIBLE_TIME, isoFromMs, wallMs, wallMsAt } from '../util/time.js';
import {
  decodeScalar,
  decodeValue,
  JsonLineScanner,
  KIND,
  latin1,
  parseJsonLine,
  setOwn,
} from './json-line.js';

/**
 * Index and alert lines → records: one definition of what each field means, fed either by the
 * byte scanner (`JsonLineScanner`, every valid JSON object line) or, for a line it declines, by
 * the full parse (`parseJsonLine`). Both hand the same raw values to the same builders.
 *
 * Python's float constants, field by field: an id that is `NaN` or `±Infinity` is no id (the line
 * is `missing_fields`, like any non-string, non-finite id); such a `size_bytes` is no size (null,
 * the line counts without bytes); such a time is no time (null); in the alerts' text fields they
 * read `"NaN"`, `"Infinity"`, `"-Infinity"`; in extra fields they are kept as numbers (JSON on the
 * wire has no such values: they travel as null there).
 */

/** Why a line of a JSONL input was not accepted as a record. */
export type RecordSkipReason = 'malformed_json' | 'not_object' | 'missing_fields' | 'invalid_time';

/**
 * A parse's outcome. `torn`: the line began with the unfinished start of an earlier line (a
 * receiver cut off mid-write, then appending its next line after it), dropped so the record after
 * it is kept; the fragment's excerpt, for the log and the `torn_line` skip count.
 */
export type ParseResult<T> = { ok: true; record: T; torn?: string } | { ok: false; reason: RecordSkipReason };

/** The index line's known keys, in the order of `INDEX` below. */
export const INDEX_FIELDS = ['episode_id', 'host_id', 'sha256', 'size_bytes', 'received_at_wall', 'path'];
export const INDEX = {
  episode_id: 0,
  host_id: 1,
  sha256: 2,
  size_bytes: 3,
  received_at_wall: 4,
  path: 5,
} as const;
const ALERT_FIELDS = ['host', 'symptom', 'detail', 'suggested_fix', 'detected_at_wall', 'dedup_key'];

/** An id: a non-empty string, or a finite number as its decimal text; null otherwise. */
export function idString(value: unknown): string | null {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/**
 * A size: a finite non-negative number, truncated; null otherwise (NaN, negative, a string, or
 * beyond 2^53 − 1: such a number is no exact count of bytes, and one of them made every total of
 * bytes after it inexact — a restart then summed them to another value).
 */
export function sizeBytes(value: unknown): number | null {
  return typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER
    ? Math.trunc(value)
    : null;
}

function optionalString(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  // Numbers as written (NaN, Infinity too); objects as their JSON.
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** A wall time on the wire: ISO-8601 UTC, null for none. `ms` is `wallMs(value)`. */
function isoTime(value: unknown, ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  // A string read as a time in the canonical layout is the canonical text of its instant (every
  // digit was checked by the read): it passes through, saving a format per line.
  return typeof value === 'string' && isCanonicalLayout(value) ? value : isoFromMs(ms);
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ`'s separators in place (the digits are the time reader's to check). */
function isCanonicalLayout(s: string): boolean {
  return (
    s.length === 24 &&
    s.charCodeAt(23) === 90 &&
    s.charCodeAt(19) === 46 &&
    s.charCodeAt(10) === 84 &&
    s.charCodeAt(4) === 45 &&
    s.charCodeAt(7) === 45 &&
    s.charCodeAt(13) === 58 &&
    s.charCodeAt(16) === 58
  );
}

/** The raw values of a line: its known fields (in the fields' order) and the other keys. */
interface RawLine {
  values: unknown[];
  extra: Record<string, unknown> | undefined;
  /** `wallMs` of the time field (index `time`), when the scanner read it from the bytes. */
  timeMs?: number;
}

/** The time field's index in both field lists. */
const TIME = 4;

function indexRecord({ values: v, extra, timeMs }: RawLine): ParseResult<EpisodeRecord> {
  const episode_id = idString(v[0]);
  const host_id = idString(v[1]);
  if (episode_id === null || host_id === null) return { ok: false, reason: 'missing_fields' };
  const ms = timeMs ?? wallMs(v[TIME]);
  if (ms === IMPOSSIBLE_TIME) return { ok: false, reason: 'invalid_time' };
  const record: EpisodeRecord = {
    episode_id,
    host_id,
    sha256: typeof v[2] === 'string' ? v[2] : null,
    size_bytes: sizeBytes(v[3]),
    received_at: isoTime(v[4], ms),
  };
  if (typeof v[5] === 'string') record.path = v[5];
  if (extra) record.extra = extra;
  return { ok: true, record };
}

function alertRecord({ values: v, extra, timeMs }: RawLine): ParseResult<AlertRecord> {
  const ms = timeMs ?? wallMs(v[TIME]);
  if (ms === IMPOSSIBLE_TIME) return { ok: false, reason: 'invalid_time' };
  const record: AlertRecord = {
    host_id: idString(v[0]),
    symptom: optionalString(v[1]),
    detail: optionalString(v[2]),
    suggested_fix: optionalString(v[3]),
    detected_at: isoTime(v[4], ms),
    dedup_key: optionalString(v[5]),
  };
  if (extra) record.extra = extra;
  return { ok: true, record };
}

/** The raw values of the line `scanner` last accepted. */
function scannedLine(sc: JsonLineScanner): RawLine {
  const b = sc.b;
  const text = sc.text;
  const values: unknown[] = [];
  for (let f = 0; f < sc.fields.length; f++) {
    const kind = sc.kind[f] as number;
    const s = sc.start[f] as number;
    const e = sc.end[f] as number;
    values.push(text !== null && kind === KIND.plainString ? text.slice(s, e) : decodeScalar(b, kind, s, e));
  }
  // A time in plain ASCII is read from its bytes (what `wallMs` of its string gives).
  const timeMs =
    sc.kind[TIME] === KIND.plainString
      ? wallMsAt(b, sc.start[TIME] as number, sc.end[TIME] as number)
      : undefined;
  let extra: Record<string, unknown> | undefined;
  for (let i = 0; i < sc.extraCount; i++) {
    extra ??= {};
    const ks = sc.extraKeyStart[i] as number;
    const ke = sc.extraKeyEnd[i] as number;
    // A key is a JSON string: read it as one value, quotes included.
    const key = sc.extraKeyPlain[i] === 1 ? latin1(b, ks, ke) : (decodeValue(b, ks - 1) as string);
    setOwn(extra, key, decodeValue(b, sc.extraValueStart[i] as number));
  }
  return timeMs === undefined ? { values, extra } : { values, extra, timeMs };
}

/** The raw values of a parsed object. */
function objectLine(obj: Record<string, unknown>, fields: readonly string[]): RawLine {
  const values = fields.map((f) => (Object.hasOwn(obj, f) ? obj[f] : undefined));
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (fields.includes(key)) continue;
    extra ??= {};
    setOwn(extra, key, obj[key]);
  }
  return { values, extra };
}

/**
 * The full parse of a line (`parseJsonLine`): the fallback for lines the scanner declines, and
 * the reference the property test holds the scanner to.
 */
export function parseLineFully<T>(
  line: string,
  fields: readonly string[],
  build: (raw: RawLine) => ParseResult<T>,
): ParseResult<T> {
  let value: unknown;
  try {
    value = parseJsonLine(line);
  } catch {
    return { ok: false, reason: 'malformed_json' };
  }
  if (SURROGATE_ESCAPE.test(line) || !(line as unknown as WellFormedCheck).isWellFormed())
    value = wellFormed(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'not_object' };
  return build(objectLine(value as Record<string, unknown>, fields));
}

/** ES2024 string methods (Node 20 has them; this TypeScript's lib does not). */
interface WellFormedCheck {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** A `\\uXXXX` escape of a UTF-16 surrogate: the one way a line read as UTF-8 can name a lone one. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/**
 * `value` with every lone surrogate of its strings (keys too) as U+FFFD, as invalid UTF-8 already
 * is: a lone surrogate has no UTF-8, so the catalog, the API and a browser's URL encoding would
 * each have made something else of it (the live state and the catalog disagreed on the host).
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return (value as unknown as WellFormedCheck).toWellFormed();
  if (Array.isArray(value)) return value.map(wellFormed);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, wellFormed(k) as string, wellFormed(v));
  return out;
}

/**
 * Text lines reach the scanner through one reused buffer: the line's UTF-8 then a line feed,
 * which ends the scan (no stale bytes of a longer earlier line are ever read).
 */
let scratch = Buffer.allocUnsafe(4096);

/** Scans a text line with `sc`; false when the scanner declines it (the full parse decides). */
export function scanText(sc: JsonLineScanner, line: string): boolean {
  // Lone surrogates have no UTF-8: the full parse reads them as U+FFFD (`wellFormed`).
  if (!(line as unknown as WellFormedCheck).isWellFormed()) return false;

  if (line.length * 3 + 1 > scratch.length) scratch = Buffer.allocUnsafe(line.length * 3 + 1);
  const n = scratch.write(line, 0);
  scratch[n] = 0x0a;
  if (sc.scan(scratch, 0) !== n) return false;
  if (n === line.length) sc.text = line;
  return true;
}

const indexScanner = new JsonLineScanner(INDEX_FIELDS);
const alertScanner = new JsonLineScanner(ALERT_FIELDS);

/** The record of the index line `sc` last accepted (its buffer unchanged since). */
export function scannedIndexRecord(sc: JsonLineScanner): ParseResult<EpisodeRecord> {
  return indexRecord(scannedLine(sc));
}

/**
 * One `index.jsonl` line → an episode. An episode needs an `episode_id` and a `host_id` (the
 * totals count unique ids with a host); other fields are optional, and unknown ones are kept.
 * A `received_at_wall` naming an impossible date rejects the line (`invalid_time`).
 */
export function parseIndexLine(line: string): ParseResult<EpisodeRecord> {
  if (scanText(indexScanner, line)) return scannedIndexRecord(indexScanner);
  return parseIndexLineFully(line);
}

/** `parseIndexLine` by the full parse only (the fallback, and the property test's reference). */
export function parseIndexLineFully(line: string): ParseResult<EpisodeRecord> {
  const parsed = parseLineFully(line, INDEX_FIELDS, indexRecord);
  if (parsed.ok || parsed.reason !== 'malformed_json') return parsed;
  return recoverTornLine(line) ?? parsed;
}

/** Where a JSON object with a key may begin: `{`, optional whitespace, a quote. */
const OBJECT_START = /\{[ \t\r]*"/g;
/** The end of a text after which an object is a value (`:`, `,` or `[`, then whitespace). */
const VALUE_PLACE = /[:,[][ \t\r]*$/;
/** Places in one malformed line tried as the start of a record after a torn fragment, at most. */
const TORN_TRIES = 16;

/**
 * The episode of a malformed index line that is the unfinished start of an earlier line with a
 * whole line after it (a receiver killed mid-write, whose next write appended to the cut-off
 * line): the longest tail of the line, from a `{` on, that is an episode on its own; null when
 * none is. Without this, the whole next line was lost with the fragment.
 */
function recoverTornLine(line: string): ParseResult<EpisodeRecord> | null {
  OBJECT_START.lastIndex = 1;
  for (let tries = 0; tries < TORN_TRIES; tries++) {
    const m = OBJECT_START.exec(line);
    if (m === null) return null;
    OBJECT_START.lastIndex = m.index + 1;
    // An object right after a key's colon, a comma or an array's bracket is a value of the line
    // before it (a line cut short by its last brace), not a line of its own.
    if (VALUE_PLACE.test(line.slice(0, m.index))) continue;
    const tail = parseLineFully(line.slice(m.index), INDEX_FIELDS, indexRecord);
    if (tail.ok) return { ok: true, record: tail.record, torn: excerpt(line.slice(0, m.index)) };
  }
  return null;
}

/** The index line whose bytes start at `start` in `b` (and end at a line feed or `b`'s end). */
/** Lets go of the buffer `parseIndexBytes` read last (see `JsonLineScanner.release`). */
export function releaseIndexBytes(): void {
  indexScanner.release();
}

export function parseIndexBytes(b: Buffer, start: number): ParseResult<EpisodeRecord> {
  if (indexScanner.scan(b, start) >= 0) return scannedIndexRecord(indexScanner);
  const nl = b.indexOf(0x0a, start);
  return parseIndexLineFully(b.toString('utf8', start, nl < 0 ? b.length : nl));
}

/** A scanner of alert lines (one per reader: a scanner holds the last line it accepted). */
export function alertLineScanner(): JsonLineScanner {
  return new JsonLineScanner(ALERT_FIELDS);
}

/**
 * `wallMs` of the time of the alert line `sc` last accepted, read without building its record:
 * IMPOSSIBLE_TIME is the one thing that rejects such a line (`invalid_time`, as `alertRecord` says).
 */
export function scannedAlertMs(sc: JsonLineScanner): number {
  const kind = sc.kind[TIME] as number;
  const s = sc.start[TIME] as number;
  const e = sc.end[TIME] as number;
  return kind === KIND.plainString ? wallMsAt(sc.b, s, e) : wallMs(decodeScalar(sc.b, kind, s, e));
}

/** The `host_id` of the alert line `sc` last accepted (as its record would have it), without the record. */
export function scannedAlertHost(sc: JsonLineScanner): string | null {
  const kind = sc.kind[0] as number;
  const s = sc.start[0] as number;
  const e = sc.end[0] as number;
  if (kind === KIND.plainString) return e > s ? latin1(sc.b, s, e) : null;
  return idString(decodeScalar(sc.b, kind, s, e));
}

/** The record of the alert line `sc` last accepted (its buffer unchanged since). */
export function scannedAlertRecord(sc: JsonLineScanner): ParseResult<AlertRecord> {
  return alertRecord(scannedLine(sc));
}

/** One `alerts.jsonl` line → an alert. Every object line is an alert; fields may be missing. */
export function parseAlertLine(line: string): ParseResult<AlertRecord> {
  if (scanText(alertScanner, line)) return alertRecord(scannedLine(alertScanner));
  return parseAlertLineFully(line);
}

/** `parseAlertLine` by the full parse only. */
export function parseAlertLineFully(line: string): ParseResult<AlertRecord> {
  return parseLineFully(line, ALERT_FIELDS, alertRecord);
}

/** A short, single-line excerpt of a rejected line for logs. */
export function excerpt(line: string, max = 120): string {
  const flat = line.replace(/[\r\n\t]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
