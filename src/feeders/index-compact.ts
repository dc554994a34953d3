import type { EpisodeRecord } from '../protocol/index.js';
import { RECENT_LIMIT } from '../protocol/index.js';
import { epochMs, IMPOSSIBLE_TIME, wallMs, wallMsAt } from '../util/time.js';
import { hash64, hashAscii } from './id-hash-set.js';
import { newerMs } from './index-aggregates.js';
import { decodeNumber, decodeScalar, decodeString, JsonLineScanner, KIND, latin1 } from './json-line.js';
import {
  excerpt,
  INDEX,
  INDEX_FIELDS,
  idString,
  parseIndexBytes,
  parseIndexLine,
  parseIndexLineFully,
  type RecordSkipReason,
  releaseIndexBytes,
  scanText,
  sizeBytes,
} from './records.js';

/** Per-line outcome codes in a compact batch. */
export const LINE_OK = 0;
export const SKIP_CODES: readonly RecordSkipReason[] = [
  'malformed_json',
  'not_object',
  'missing_fields',
  'invalid_time',
];

/**
 * What the first pass needs of a batch of index lines, in typed arrays (no object per line): per
 * line an outcome, the id's 64-bit hash, a host index, the size and
 * the received time. Only the last TAIL_KEPT valid lines travel as whole records (the recent
 * list), and a few excerpts of rejected lines (the log).
 */
export interface CompactIndexBatch {
  count: number;
  /** 0 = ok; i + 1 = SKIP_CODES[i]. */
  status: Uint8Array;
  hashHi: Uint32Array;
  hashLo: Uint32Array;
  host: Uint32Array;
  hosts: string[];
  /** NaN when absent. */
  size: Float64Array;
  /** Epoch ms; NaN when absent or unparseable. */
  receivedMs: Float64Array;
  /**
   * Per host (same order as `hosts`), what the batch's valid lines add when none repeats an id:
   * count, bytes and the newest time (NaN: none).
   */
  hostSums: { episodes: Float64Array; bytes: Float64Array; lastMs: Float64Array };
  /** Whole records of the last valid lines, with their line index in the batch. */
  tail: Array<{ index: number; record: EpisodeRecord }>;
  /**
   * Set instead of `tail` by a builder that defers it (`deferTail`): per tail line its index in the
   * batch and where its bytes start in `tailBytes`, a copy of the tail lines' bytes (through the
   * last one's line feed): whoever receives the batch parses them (`deferredTail`).
   */
  tailSpans?: Int32Array;
  tailBytes?: Uint8Array;
  /** First rejected lines per reason, for the log (and the first torn fragments, `torn_line`). */
  rejected: Array<{ reason: RecordSkipReason | 'torn_line'; excerpt: string }>;
  /**
   * Every rejected line of the batch by reason, excerpted or not, and its torn fragments
   * (`torn_line`: the start of an earlier line, dropped so the episode after it is kept, records.ts
   * `ParseResult.torn`; the line itself is valid).
   */
  rejectedCounts: Record<string, number>;
  /**
   * Where each valid line's text fields lie, for the catalog writer (which then needs no parse):
   * per line ROW_FIELDS int32s (see ROW). Lines added as text have ROW.line = -1 and their text in
   * `texts`.
   */
  rows: Int32Array;
  /**
   * The `spans` records (SPAN) of the lines whose ROW.line says they have one, in line order:
   * where the first pass's scan found what the fast columns do not carry, so the catalog writer
   * scans none of those lines again.
   */
  spans: Uint16Array;
  /** Valid lines added as text (declined by the byte reader), by batch index. */
  texts: Array<{ index: number; line: string }>;
}

/**
 * A valid line's place in the batch's bytes, for the catalog writer (`CompactIndexBatch.rows`):
 * the line's start, the id's bytes, the sha256's bytes ([-1, -1]: not a string, stored as null).
 * ROW.line is -1 for a line added as text (its text is in `texts`), and -2 - start for a line with
 * more than those fast columns carry — a path, extra keys, an escaped id or sha256 — whose `spans`
 * record (SPAN) says the rest; such records follow one another in line order. ROW.idStart is -1
 * for a line the writer scans again (its id is no string, or it is too long or has too many extra
 * keys for a record).
 */
export const ROW = { line: 0, idStart: 1, idEnd: 2, shaStart: 3, shaEnd: 4 } as const;
export const ROW_FIELDS = 5;

/**
 * A line's record in `CompactIndexBatch.spans`, in 16-bit units, as the first pass's scan found
 * its fields (scanning such lines again cost the catalog writer ≈ 0.6–0.9 s of CPU for a 1M-line
 * mixed or foreign index): a head (SPAN_HEAD flags, and the count of extra keys from
 * SPAN_EXTRAS_SHIFT), the path's bytes when it is a string ([start, end), without the quotes),
 * then per extra key where its key begins (after the quote) and where its value ends. Every
 * position is relative to the line's start: only lines shorter than SPAN_LINE_LIMIT have a
 * record. Kept small (a mixed line's is 3 units, a foreign one's ≈ 9): the records are fresh pages
 * on the first pass's critical path (≈ 13 µs a page on the bench's VM), so the writer finds a key's
 * end and its value's start itself (a few bytes on), and the id and sha256 are in `rows`.
 */
export const SPAN_HEAD = {
  /** The id is a JSON string with escapes or non-ASCII (else plain). */
  idEscaped: 1,
  /** The sha256 is a JSON string with escapes or non-ASCII (else plain, or no string). */
  shaEscaped: 2,
  /** The path is a string: its start and end follow the head. */
  path: 4,
  /** The path is a JSON string with escapes or non-ASCII. */
  pathEscaped: 8,
} as const;
/**
 * SPAN_HEAD's flags as plain constants for `addSpans`: read there as properties in branches most
 * lines skip, they had no type feedback in code V8 optimized before a line took one (an escaped
 * path), which was then thrown away (`--trace-deopt`, once per scanning thread).
 */
const {
  idEscaped: ID_ESCAPED,
  shaEscaped: SHA_ESCAPED,
  path: PATH_SPAN,
  pathEscaped: PATH_ESCAPED,
} = SPAN_HEAD;
export const SPAN_EXTRAS_SHIFT = 4;
/** Lines this long or longer have no `spans` record (their positions need more than 16 bits). */
export const SPAN_LINE_LIMIT = 1 << 16;
/** Lines with more extra keys than this have no `spans` record (the head's count would overflow). */
const SPAN_MAX_EXTRAS = (1 << (16 - SPAN_EXTRAS_SHIFT)) - 1;
/**
 * A builder's first `spans` room when it was given none, in 16-bit units per line of its capacity
 * (it doubles when full): room for a foreign index's records (≈ 9 units on 71 % of its lines, whose
 * 360 bytes are ≈ twice the capacity's), made once rather than grown (each growth a copy, and
 * fresh pages to fault in).
 */
const SPANS_FIRST_ROOM_PER_LINE = 4;

const EXCERPTS_PER_REASON = 3;

/** Slots of a builder's host lookup (`hostAt`): a power of two, well above a batch's hosts. */
const HOST_SLOTS = 256;
const HOST_SLOT_SHIFT = 32 - Math.log2(HOST_SLOTS);
/** Slots a host is looked for in, from the one its bytes pick. */
const HOST_PROBES = 4;
/** Room for this many hosts in a builder's per-host sums at first (grown by doubling). */
const HOST_ROOM = 64;

/**
 * Valid lines kept whole at a batch's end: twice the recent window, so that ids repeated among
 * them still leave RECENT_LIMIT distinct ones. A receiver re-logs an upload now and then (0.5 %
 * of lines in bench/foreign-root.py): with a window of exactly RECENT_LIMIT nearly every 4 MiB
 * batch held a repeat there, and the live projection parsed the whole batch again as text to
 * refill it (the 1M-line foreign root's first pass took 14 s instead of 2.8).
 */
export const TAIL_KEPT = 2 * RECENT_LIMIT;

/** A time as the compact batch holds it: the record's (whole ms, as `Date` keeps them); NaN: none. */
function compactMs(ms: number): number {
  return Number.isFinite(ms) ? Math.trunc(ms) + 0 : Number.NaN;
}

/** The first pass's own scanner for text lines (the byte reader has another). */
const textScanner = new JsonLineScanner(INDEX_FIELDS);
const hashOut = new Uint32Array(2);

/** A builder's per-line columns (see `CompactIndexBatch`), all of one capacity. */
export interface BatchColumns {
  status: Uint8Array;
  hashHi: Uint32Array;
  hashLo: Uint32Array;
  host: Uint32Array;
  size: Float64Array;
  receivedMs: Float64Array;
  rows: Int32Array;
  /** Room for `spans` records (grown when they do not fit); none: made on the first one. */
  spans?: Uint16Array;
  /** Room for a deferred tail's bytes (`deferTail`), used when they fit. */
  tail?: Uint8Array;
}

/** Empty columns for `capacity` lines (at least 16). */
export function newColumns(capacity: number): BatchColumns {
  const cap = Math.max(16, capacity);
  return {
    status: new Uint8Array(cap),
    hashHi: new Uint32Array(cap),
    hashLo: new Uint32Array(cap),
    host: new Uint32Array(cap),
    size: new Float64Array(cap),
    receivedMs: new Float64Array(cap),
    rows: new Int32Array(cap * ROW_FIELDS),
  };
}

/** The memory page size `faultedColumns` steps by (Linux on x86-64 and most arm64). */
const PAGE_BYTES = 4096;

/**
 * `newColumns` with a zero written into every page its first `lines` lines fill (and room of
 * `tailBytes` for a deferred tail and `spanUnits` for `spans` records, all of it touched), so that those pages are faulted in here
 * rather than by whoever fills them: a fresh page costs ≈ 11–13 µs to fault in on the VM the bench runs
 * on, ≈ 3 ms for a 4 MiB range's ≈ 1 MiB of columns. The first pass's main thread makes them
 * while it waits for the scanner thread, whose scan is the pass's critical path
 * (`FirstPassLoader`). They read as zeros either way.
 */
export function faultedColumns(
  capacity: number,
  lines = capacity,
  tailBytes = 0,
  spanUnits = 0,
): BatchColumns {
  const columns: BatchColumns = newColumns(capacity);
  // Only the pages the first `lines` lines will fill: the rest may never be touched at all.
  const share = Math.min(1, lines / Math.max(16, capacity));
  for (const c of Object.values(columns) as ArrayBufferView[]) {
    const bytes = new Uint8Array(c.buffer, c.byteOffset, Math.ceil(c.byteLength * share));
    for (let i = 0; i < bytes.length; i += PAGE_BYTES) bytes[i] = 0;
  }
  if (tailBytes > 0) {
    const tail = new Uint8Array(tailBytes);
    for (let i = 0; i < tail.length; i += PAGE_BYTES) tail[i] = 0;
    columns.tail = tail;
  }
  if (spanUnits > 0) {
    const spans = new Uint16Array(spanUnits);
    for (let i = 0; i < spans.length; i += PAGE_BYTES / 2) spans[i] = 0;
    columns.spans = spans;
  }
  return columns;
}

/** Pure: lines → compact batch. */
export function compactIndexBatch(lines: readonly string[]): CompactIndexBatch {
  const builder = new CompactBatchBuilder(lines.length);
  for (const line of lines) builder.addLine(line);
  return builder.finish();
}

/**
 * Builds a compact batch line by line. Lines come either as strings (`addLine`: the receiver's
 * shape by pattern, anything else by JSON.parse) or already decoded by the byte-level reader
 * (`addKey`, with a way to get the line's text back should it end up in the recent tail).
 * Per-host sums of the batch's valid lines are kept as they come: with no repeated id in the
 * batch (the usual case) the main thread adds them per host instead of per line.
 */
export class CompactBatchBuilder {
  private n = 0;
  private status: Uint8Array;
  private hashHi: Uint32Array;
  private hashLo: Uint32Array;
  private host: Uint32Array;
  private size: Float64Array;
  private receivedMs: Float64Array;
  private rows: Int32Array;
  private spans: Uint16Array;
  /** `spans` units used. */
  private spanCount = 0;
  /** Where `finish` copies a deferred tail's bytes when they fit (else a new buffer). */
  private readonly tailRoom: Uint8Array;
  private texts: CompactIndexBatch['texts'] = [];
  hosts: string[] = [];
  private readonly hostIndex = new Map<string, number>();
  /**
   * Per host index (`hosts`), its valid lines, bytes and newest time so far: typed arrays, grown
   * as hosts come. Plain arrays started as small integers and turned into doubles once a host's
   * bytes passed 2³⁰, which threw away the optimized scan on every thread that met it
   * (`--trace-deopt`: addScanned, addKey and hostAt, "wrong map", each compiled again).
   */
  private hostEpisodes = new Float64Array(HOST_ROOM);
  private hostBytes = new Float64Array(HOST_ROOM);
  private hostLastMs = new Float64Array(HOST_ROOM);
  private rejected: CompactIndexBatch['rejected'] = [];
  private readonly rejectedPerReason = new Map<string, number>();
  /**
   * The last TAIL_KEPT valid lines, as a ring: batch index, and the text — or, for lines the
   * byte reader decoded, where the text is in its buffer (decoded only if it stays in the tail).
   */
  private readonly ringIndex = new Int32Array(TAIL_KEPT);
  private readonly ringText: Array<string | undefined> = new Array(TAIL_KEPT);
  private readonly ringStart = new Int32Array(TAIL_KEPT);
  private readonly ringEnd = new Int32Array(TAIL_KEPT);
  private valid = 0;
  /**
   * Leave the tail's records to the receiver: `finish` gives where the lines lie (`tailSpans`)
   * when every one of them was added by byte range. The first pass's scanner thread sets it, so
   * the twenty thousand records of a million-line pass are parsed on the thread that waits for it.
   */
  deferTail = false;

  /** `columns`: arrays to fill (of one capacity, as `newColumns` makes them), else new ones. */
  constructor(capacity = 1024, columns: BatchColumns = newColumns(capacity)) {
    this.status = columns.status;
    this.hashHi = columns.hashHi;
    this.hashLo = columns.hashLo;
    this.host = columns.host;
    this.size = columns.size;
    this.receivedMs = columns.receivedMs;
    this.rows = columns.rows;
    // Its own empty array (not a shared one: a batch's arrays are moved to other threads).
    this.spans = columns.spans ?? new Uint16Array(0);
    // Always an array (an empty one of its own when none was given): a field holding undefined in
    // some builders and an array in others changed the builders' hidden class midway through a
    // pass, and V8 threw away code optimized for the first (`--trace-deopt`, wrong map).
    this.tailRoom = columns.tail ?? new Uint8Array(0);
  }

  /**
   * Starts a new batch in the same arrays. The batch `finish` returned before shares them: only a
   * caller that is done with it (it was applied at once) may reset.
   */
  reset(): void {
    this.n = 0;
    this.status.fill(0);
    this.hosts = [];
    this.hostIndex.clear();
    this.hostSlot.fill(0);
    this.hostName = [];
    this.rejected = [];
    this.rejectedPerReason.clear();
    this.texts = [];
    this.spanCount = 0;
    this.valid = 0;
  }

  /** The index of a host name in this batch's `hosts` (added when new). */
  hostFor(name: string): number {
    let h = this.hostIndex.get(name);
    if (h === undefined) {
      h = this.hosts.length;
      this.hosts.push(name);
      this.hostIndex.set(name, h);
      if (h === this.hostEpisodes.length) {
        this.hostEpisodes = grown(this.hostEpisodes, new Float64Array(2 * h));
        this.hostBytes = grown(this.hostBytes, new Float64Array(2 * h));
        this.hostLastMs = grown(this.hostLastMs, new Float64Array(2 * h));
      }
      this.hostEpisodes[h] = 0;
      this.hostBytes[h] = 0;
      this.hostLastMs[h] = Number.NaN;
    }
    return h;
  }

  /**
   * A valid line, already decoded: its id's hash, host index, size (NaN: none), time (NaN: none),
   * and its text — or undefined with its byte range in the buffer later given to `finish`.
   */
  addKey(
    hi: number,
    lo: number,
    host: number,
    size: number,
    ms: number,
    text: string | undefined,
    start = 0,
    end = 0,
  ): void {
    const i = this.slot();
    this.hashHi[i] = hi;
    this.hashLo[i] = lo;
    this.host[i] = host;
    this.size[i] = size;
    this.receivedMs[i] = ms;
    this.hostEpisodes[host] = (this.hostEpisodes[host] as number) + 1;
    if (!Number.isNaN(size)) this.hostBytes[host] = (this.hostBytes[host] as number) + size;
    this.hostLastMs[host] = newerMs(this.hostLastMs[host] as number, ms);
    const r = this.valid++ % TAIL_KEPT;
    this.ringIndex[r] = i;
    this.ringText[r] = text;
    this.ringStart[r] = start;
    this.ringEnd[r] = end;
  }

  /** A line rejected for `reason`; `line` is its text (for the log's excerpt). */
  addRejected(reason: RecordSkipReason, line: string): void {
    const i = this.slot();
    this.status[i] = SKIP_CODES.indexOf(reason) + 1;
    // Nothing of a rejected line is read, but a reused builder must not show the last batch's.
    this.hashHi[i] = 0;
    this.hashLo[i] = 0;
    this.host[i] = 0;
    this.size[i] = 0;
    this.receivedMs[i] = 0;
    this.noteRejected(reason, excerpt(line));
  }

  /** Keeps the first EXCERPTS_PER_REASON excerpts of each reason for the log. */
  private noteRejected(reason: RecordSkipReason | 'torn_line', text: string): void {
    const seen = this.rejectedPerReason.get(reason) ?? 0;
    if (seen < EXCERPTS_PER_REASON) this.rejected.push({ reason, excerpt: text });
    this.rejectedPerReason.set(reason, seen + 1);
  }

  /** One line as text: scanned, or (declined) parsed in full, by the per-line parser's own pieces. */
  addLine(line: string): void {
    if (scanText(textScanner, line)) {
      const reason = this.addScanned(textScanner, 0, 0, line);
      if (reason !== null) this.addRejected(reason, line);
      return;
    }
    const parsed = parseIndexLineFully(line);
    if (!parsed.ok) {
      this.addRejected(parsed.reason, line);
      return;
    }
    if (parsed.torn !== undefined) this.noteRejected('torn_line', parsed.torn);
    const r = parsed.record;
    const [hi, lo] = hash64(r.episode_id);
    const ms = r.received_at === null ? Number.NaN : wallMs(r.received_at);
    this.addKey(hi, lo, this.hostFor(r.host_id), r.size_bytes ?? Number.NaN, ms, line);
    this.textRow(line);
  }

  /** The line just added came as text: the writer gets that text. */
  private textRow(line: string): void {
    const i = this.n - 1;
    this.rows[i * ROW_FIELDS + ROW.line] = -1;
    this.texts.push({ index: i, line });
  }

  /**
   * The line `sc` last accepted, whose bytes are [start, end) of the buffer later given to
   * `finish` (or, for a text line, that text): added when it is an episode. Otherwise nothing is
   * added and the reason is returned. The same rules as `parseIndexLine`, read from the bytes:
   * an id or host of plain ASCII is hashed where it lies; a time is read where it lies.
   */
  addScanned(sc: JsonLineScanner, start: number, end: number, text?: string): RecordSkipReason | null {
    const b = sc.b;
    const kind = sc.kind;
    const k0 = kind[INDEX.episode_id] as number;
    const k1 = kind[INDEX.host_id] as number;
    const s0 = sc.start[INDEX.episode_id] as number;
    const e0 = sc.end[INDEX.episode_id] as number;
    const s1 = sc.start[INDEX.host_id] as number;
    const e1 = sc.end[INDEX.host_id] as number;
    let hi: number;
    let lo: number;
    if (k0 === KIND.plainString && e0 > s0) {
      hashAscii(b, s0, e0, hashOut);
      hi = hashOut[0] as number;
      lo = hashOut[1] as number;
    } else {
      const id = idString(decodeScalar(b, k0, s0, e0));
      if (id === null) return 'missing_fields';
      [hi, lo] = hash64(id);
    }
    let host: number;
    if ((k1 === KIND.plainString || k1 === KIND.string) && e1 > s1) host = this.hostAt(b, s1, e1, k1);
    else {
      const name = idString(decodeScalar(b, k1, s1, e1));
      if (name === null) return 'missing_fields';
      host = this.hostFor(name);
    }
    const k4 = kind[INDEX.received_at_wall] as number;
    const s4 = sc.start[INDEX.received_at_wall] as number;
    const e4 = sc.end[INDEX.received_at_wall] as number;
    const ms =
      k4 === KIND.plainString
        ? wallMsAt(b, s4, e4)
        : k4 === KIND.number
          ? epochMs(decodeNumber(b, s4, e4))
          : wallMs(decodeScalar(b, k4, s4, e4));
    if (ms === IMPOSSIBLE_TIME) return 'invalid_time';
    const k3 = kind[INDEX.size_bytes] as number;
    const s3 = sc.start[INDEX.size_bytes] as number;
    const e3 = sc.end[INDEX.size_bytes] as number;
    const size =
      k3 === KIND.number ? sizeBytes(decodeNumber(b, s3, e3)) : sizeBytes(decodeScalar(b, k3, s3, e3));
    this.addKey(hi, lo, host, size ?? Number.NaN, compactMs(ms), text, start, end);
    if (text !== undefined) {
      this.textRow(text);
      return null;
    }
    // Where the writer finds the text fields; a line with more than them has a `spans` record.
    const r = (this.n - 1) * ROW_FIELDS;
    const rows = this.rows;
    rows[r + ROW.line] = start;
    const k2 = kind[INDEX.sha256] as number;
    const k5 = kind[INDEX.path] as number;
    const extras = sc.extraCount;
    if (k0 !== KIND.plainString || k2 === KIND.string || extras > 0 || k5 !== KIND.absent) {
      if (
        (k0 !== KIND.plainString && k0 !== KIND.string) ||
        end - start >= SPAN_LINE_LIMIT ||
        extras > SPAN_MAX_EXTRAS
      ) {
        // Scanned again by the writer (an id that is no string: a number; a line too long).
        rows[r + ROW.idStart] = -1;
        rows[r + ROW.idEnd] = -1;
        return null;
      }
      rows[r + ROW.line] = -2 - start;
      this.addSpans(sc, start, k0, k2, k5, extras);
    }
    rows[r + ROW.idStart] = s0;
    rows[r + ROW.idEnd] = e0;
    if (k2 === KIND.plainString || k2 === KIND.string) {
      rows[r + ROW.shaStart] = sc.start[INDEX.sha256] as number;
      rows[r + ROW.shaEnd] = sc.end[INDEX.sha256] as number;
    } else {
      rows[r + ROW.shaStart] = -1;
      rows[r + ROW.shaEnd] = -1;
    }
    return null;
  }

  /**
   * The `spans` record (SPAN_HEAD) of the line `sc` last accepted, which starts at `start`: `k0`,
   * `k2`, `k5` are its id's, sha256's and path's KIND, `extras` its count of extra keys.
   */
  private addSpans(
    sc: JsonLineScanner,
    start: number,
    k0: number,
    k2: number,
    k5: number,
    extras: number,
  ): void {
    const pathString = k5 === KIND.plainString || k5 === KIND.string;
    let at = this.spanCount;
    const next = at + 1 + (pathString ? 2 : 0) + 2 * extras;
    if (next > this.spans.length) {
      const room = Math.max(next, 2 * this.spans.length, SPANS_FIRST_ROOM_PER_LINE * this.status.length);
      this.spans = grown(this.spans.subarray(0, at), new Uint16Array(room));
    }
    const spans = this.spans;
    spans[at++] =
      (k0 === KIND.string ? ID_ESCAPED : 0) |
      (k2 === KIND.string ? SHA_ESCAPED : 0) |
      (pathString ? PATH_SPAN : 0) |
      (k5 === KIND.string ? PATH_ESCAPED : 0) |
      (extras << SPAN_EXTRAS_SHIFT);
    if (pathString) {
      spans[at++] = (sc.start[INDEX.path] as number) - start;
      spans[at++] = (sc.end[INDEX.path] as number) - start;
    }
    for (let i = 0; i < extras; i++) {
      spans[at++] = (sc.extraKeyStart[i] as number) - start;
      spans[at++] = (sc.extraValueEnd[i] as number) - start;
    }
    this.spanCount = next;
  }

  /**
   * Hosts by their name's bytes: a slot picked by a few of them (the last two, the first, the
   * length) holds a host whose bytes are then compared, so a batch's few hosts are found without
   * hashing, decoding or a map (the map by hash this replaces was a tenth of a python line's
   * scan). A host whose slot another holds takes one of the next few; beyond them it is found by
   * name (`hostFor`).
   */
  private readonly hostSlot = new Int32Array(HOST_SLOTS);
  /** Per host index, its name's bytes when it holds a slot. */
  private hostName: Array<Uint8Array | undefined> = [];

  private hostAt(b: Buffer, s: number, e: number, kind: number): number {
    const len = e - s;
    let slot =
      Math.imul(
        (b[e - 1] as number) | ((b[e - 2] as number) << 8) | ((b[s] as number) << 16) | (len << 24),
        0x9e3779b1,
      ) >>> HOST_SLOT_SHIFT;
    // The slot and the next few (hosts whose bytes pick the same slot take the next free one).
    let held = -1;
    for (let probe = 0; probe < HOST_PROBES; probe++, slot = (slot + 1) & (HOST_SLOTS - 1)) {
      held = (this.hostSlot[slot] as number) - 1;
      if (held < 0) break;
      const name = this.hostName[held] as Uint8Array;
      if (name.length !== len) continue;
      let i = 0;
      while (i < len && name[i] === b[s + i]) i++;
      if (i === len) return held;
    }
    // Found by its bytes as written: a name spelled with escapes too (one in twelve of a receiver's
    // lines in bench/foreign-root.py was decoded and looked up by name each time).
    const host = this.hostFor(kind === KIND.plainString ? latin1(b, s, e) : decodeString(b, s, e, kind));
    if (held < 0) {
      this.hostSlot[slot] = host + 1;
      this.hostName[host] = Uint8Array.from(b.subarray(s, e));
    }
    return host;
  }

  get count(): number {
    return this.n;
  }

  /** The batch; `source` is the buffer of lines added by byte range. */
  finish(source?: Buffer): CompactIndexBatch {
    const n = this.n;
    const tail: CompactIndexBatch['tail'] = [];
    const from = Math.max(0, this.valid - TAIL_KEPT);
    let deferred: { tailSpans: Int32Array; tailBytes: Uint8Array } | null = null;
    if (this.deferTail && source !== undefined && this.valid > from) {
      const spans = new Int32Array(2 * (this.valid - from));
      const first = this.ringStart[from % TAIL_KEPT] as number;
      const last = this.ringEnd[(this.valid - 1) % TAIL_KEPT] as number;
      let byBytes = true;
      for (let k = from; k < this.valid && byBytes; k++) {
        const r = k % TAIL_KEPT;
        byBytes = this.ringText[r] === undefined;
        spans[2 * (k - from)] = this.ringIndex[r] as number;
        spans[2 * (k - from) + 1] = (this.ringStart[r] as number) - first;
      }
      if (byBytes) {
        const length = last + 1 - first;
        const room = this.tailRoom;
        const tailBytes = room.length >= length ? room.subarray(0, length) : new Uint8Array(length);
        tailBytes.set(source.subarray(first, last + 1));
        deferred = { tailSpans: spans, tailBytes };
      }
    }
    for (let k = deferred ? this.valid : from; k < this.valid; k++) {
      const r = k % TAIL_KEPT;
      const text = this.ringText[r];
      if (text === undefined && source === undefined)
        throw new Error('a line added by byte range needs its buffer');
      const parsed =
        text !== undefined
          ? parseIndexLine(text)
          : parseIndexBytes(source as Buffer, this.ringStart[r] as number);
      if (!parsed.ok) throw new Error('unreachable: line was valid');
      tail.push({ index: this.ringIndex[r] as number, record: parsed.record });
    }
    // The tail was read from `source`: the parser's scanner lets go of it.
    if (source !== undefined) releaseIndexBytes();
    return {
      count: n,
      status: this.status.subarray(0, n),
      hashHi: this.hashHi.subarray(0, n),
      hashLo: this.hashLo.subarray(0, n),
      host: this.host.subarray(0, n),
      hosts: this.hosts,
      size: this.size.subarray(0, n),
      receivedMs: this.receivedMs.subarray(0, n),
      hostSums: {
        // Copies of their own (a batch's arrays are moved to other threads; these are reused).
        episodes: this.hostEpisodes.slice(0, this.hosts.length),
        bytes: this.hostBytes.slice(0, this.hosts.length),
        lastMs: this.hostLastMs.slice(0, this.hosts.length),
      },
      tail,
      ...deferred,
      rejected: this.rejected,
      rejectedCounts: Object.fromEntries(this.rejectedPerReason),
      rows: this.rows.subarray(0, n * ROW_FIELDS),
      spans: this.spans.subarray(0, this.spanCount),
      texts: this.texts,
    };
  }

  /** The next line's index, growing the arrays when full. */
  private slot(): number {
    const i = this.n++;
    if (i === this.status.length) {
      const cap = i * 2;
      this.status = grown(this.status, new Uint8Array(cap));
      this.hashHi = grown(this.hashHi, new Uint32Array(cap));
      this.hashLo = grown(this.hashLo, new Uint32Array(cap));
      this.host = grown(this.host, new Uint32Array(cap));
      this.size = grown(this.size, new Float64Array(cap));
      this.receivedMs = grown(this.receivedMs, new Float64Array(cap));
      this.rows = grown(this.rows, new Int32Array(cap * ROW_FIELDS));
    }
    return i;
  }
}

/** A batch's tail records, parsed here when its builder deferred them (`deferTail`). */
export function deferredTail(batch: CompactIndexBatch): void {
  const { tailSpans: spans, tailBytes } = batch;
  if (!spans || !tailBytes) return;
  batch.tail = tailRecords(spans, tailBytes, EMPTY_SET, spans.length / 2);
  delete batch.tailSpans;
  delete batch.tailBytes;
}

const EMPTY_SET: ReadonlySet<number> = new Set();

/**
 * The last `limit` records of a deferred tail (`tailSpans`, `tailBytes`) whose line index is not
 * in `skip` (repeated ids), oldest first: only those are parsed, from the end.
 */
export function tailRecords(
  spans: Int32Array,
  tailBytes: Uint8Array,
  skip: ReadonlySet<number>,
  limit: number,
): CompactIndexBatch['tail'] {
  const bytes = Buffer.from(tailBytes.buffer, tailBytes.byteOffset, tailBytes.byteLength);
  const tail: CompactIndexBatch['tail'] = [];
  for (let k = spans.length - 2; k >= 0 && tail.length < limit; k -= 2) {
    const index = spans[k] as number;
    if (skip.has(index)) continue;
    const parsed = parseIndexBytes(bytes, spans[k + 1] as number);
    if (!parsed.ok) throw new Error('unreachable: line was valid');
    tail.push({ index, record: parsed.record });
  }
  releaseIndexBytes();
  return tail.reverse();
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
  from: T,
  to: T,
): T {
  to.set(from as never);
  return to;
}

/**
 * The batch's per-host sums over its valid lines except those at `skip` (repeated ids): its own
 * sums (`hostSums`) less the skipped lines'. Only a host whose newest time a skipped line may have
 * been (or whose bytes are past exact integers) is summed again over the batch: a receiver re-logs
 * an upload now and then (nearly every 4 MiB range of the foreign index holds one), and summing
 * every such batch again was ≈ 47 ms of the first pass's main thread.
 */
export function sumsWithout(
  batch: CompactIndexBatch,
  skip: readonly number[],
): CompactIndexBatch['hostSums'] {
  const sums = {
    episodes: batch.hostSums.episodes.slice(),
    bytes: batch.hostSums.bytes.slice(),
    lastMs: batch.hostSums.lastMs.slice(),
  };
  let again: Uint8Array | null = null;
  for (const i of new Set(skip)) {
    if (batch.status[i] !== LINE_OK) continue;
    const h = batch.host[i] as number;
    const size = batch.size[i] as number;
    sums.episodes[h] = (sums.episodes[h] as number) - 1;
    if (!Number.isNaN(size)) sums.bytes[h] = (sums.bytes[h] as number) - size;
    if (batch.receivedMs[i] === sums.lastMs[h] || !Number.isSafeInteger(batch.hostSums.bytes[h])) {
      again ??= new Uint8Array(batch.hosts.length);
      again[h] = 1;
    }
  }
  if (again !== null) sumHostsAgain(batch, skip, again, sums);
  return sums;
}

/** `sumsWithout`'s sums of the hosts marked in `hosts`, made again over the batch's lines. */
function sumHostsAgain(
  batch: CompactIndexBatch,
  skip: readonly number[],
  hosts: Uint8Array,
  sums: CompactIndexBatch['hostSums'],
): void {
  for (let h = 0; h < hosts.length; h++) {
    if (hosts[h] === 0) continue;
    sums.episodes[h] = 0;
    sums.bytes[h] = 0;
    sums.lastMs[h] = Number.NaN;
  }
  const skipped = new Uint8Array(batch.count);
  for (const i of skip) skipped[i] = 1;
  for (let i = 0; i < batch.count; i++) {
    if (batch.status[i] !== LINE_OK || skipped[i] === 1) continue;
    const h = batch.host[i] as number;
    if (hosts[h] === 0) continue;
    const size = batch.size[i] as number;
    const ms = batch.receivedMs[i] as number;
    sums.episodes[h] = (sums.episodes[h] as number) + 1;
    if (!Number.isNaN(size)) sums.bytes[h] = (sums.bytes[h] as number) + size;
    sums.lastMs[h] = newerMs(sums.lastMs[h] as number, ms);
  }
}
