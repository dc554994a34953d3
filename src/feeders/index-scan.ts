import { isoMsAt, timestampMs } from '../util/time.js';
import { CompactBatchBuilder, type CompactIndexBatch } from './index-compact.js';
import { type LineSink, splitLines } from './tail/lines.js';

/**
 * The cold start's first pass over index bytes, without decoding each line to a string.
 *
 * Decoding a range to text, splitting it and matching each line against a pattern costs about
 * three quarters of a large index's first pass. The receiver writes every line in one shape
 * (`{"episode_id":…,"host_id":…,"sha256":…,"size_bytes":…,"received_at_wall":…[,"path":…]}`), so
 * this reader walks the bytes of that shape directly: it hashes the id as it passes it, looks the
 * host up by its bytes, reads the size and the time as digits. A line it is not sure of — any
 * other key order, whitespace, an escape, a byte outside printable ASCII, an empty id, CRs but
 * one — goes to the tailer's own splitter and the string parser, so both accept exactly alike.
 */

/** A literal piece of the receiver's shape, as little-endian 32-bit words and the bytes left over. */
interface Literal {
  length: number;
  words: Uint32Array;
  rest: Uint8Array;
}

function literal(text: string): Literal {
  const bytes = Buffer.from(text, 'latin1');
  const whole = bytes.length >> 2;
  const words = new Uint32Array(whole);
  for (let k = 0; k < whole; k++) words[k] = bytes.readUInt32LE(4 * k);
  return { length: bytes.length, words, rest: Uint8Array.from(bytes.subarray(4 * whole)) };
}

const OPEN_ID = literal('{"episode_id":"');
const HOST = literal('","host_id":"');
const SHA = literal('","sha256":"');
const SIZE = literal('","size_bytes":');
const RECEIVED = literal(',"received_at_wall":');
const PATH = literal(',"path":"');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NL = 0x0a;
const CR = 0x0d;
const CLOSE = 0x7d;

/**
 * Index of the byte after `pattern` at `p`, or -1. Compared four bytes at a time: the literals are
 * over a third of a receiver line.
 */
function expect(b: Uint8Array, view: DataView, p: number, pattern: Literal): number {
  if (p + pattern.length > b.length) return -1;
  const { words, rest } = pattern;
  for (let k = 0; k < words.length; k++) if (view.getUint32(p + 4 * k, true) !== words[k]) return -1;
  const at = p + 4 * words.length;
  for (let k = 0; k < rest.length; k++) if (b[at + k] !== rest[k]) return -1;
  return p + pattern.length;
}

/**
 * What a byte is inside a JSON string, by table (one load instead of four comparisons per byte):
 * 0 plain printable ASCII, 1 the closing quote, 2 anything this reader declines — a backslash
 * (an escape), a control character (invalid JSON), or a byte of a multi-byte character.
 */
const STRING_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++)
  STRING_BYTE[c] = c === QUOTE ? 1 : c < 0x20 || c >= 0x80 || c === BACKSLASH ? 2 : 0;

/**
 * Index of the closing quote of a string starting at `p`, or -1 when the string holds anything
 * but printable ASCII without escapes (the text between the quotes then IS the decoded value).
 * Four plain bytes are passed at a time (the sha256 and the path are most of a line's text);
 * the word with anything else in it is then read byte by byte.
 */
function stringEnd(b: Uint8Array, view: DataView, p: number): number {
  const last = b.length - 4;
  while (p <= last) {
    const w = view.getUint32(p, true);
    // Bit tricks per byte lane (exact for "is any lane…"): a lane below 0x20, a lane with the top
    // bit set, a lane equal to '"', a lane equal to '\'.
    const quote = w ^ 0x22222222;
    const backslash = w ^ 0x5c5c5c5c;
    const special =
      ((w - 0x20202020) & ~w) | w | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash);
    if ((special & 0x80808080) !== 0) break;
    p += 4;
  }
  for (;;) {
    const k = STRING_BYTE[b[p] as number];
    if (k !== 0) return k === 1 ? p : -1;
    p++;
  }
}

/** 10^0 … 10^15, each exact as a double. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** Reads one line's fields; reused for every line (no allocation per line). */
class LineReader {
  hi = 0;
  lo = 0;
  hostStart = 0;
  hostEnd = 0;
  /** The host's bytes hashed into two independent 32-bit halves. */
  hostHash = 0;
  hostCheck = 0;
  size = Number.NaN;
  ms = Number.NaN;
  /** Where the record's text ends (before a CR) and where its '\n' is. */
  textEnd = 0;
  newline = 0;
  private number = 0;
  private hashA = 0;
  private hashB = 0;

  private readonly view: DataView;

  constructor(private readonly b: Buffer) {
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
  }

  /** True when the line at `p` is in the receiver's shape; the fields are then set. */
  read(p: number): boolean {
    const b = this.b;
    p = expect(b, this.view, p, OPEN_ID);
    if (p < 0) return false;
    // The id, hashed as it is passed: hash64 of the same characters (ASCII: byte = code unit).
    const idStart = p;
    p = this.hashedString(p);
    if (p <= idStart) return false; // Declined, or an empty id (no id: the string path rejects it).
    let a = this.hashA;
    let h = this.hashB;
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    if (a === 0 && h === 0) h = 1;
    this.hi = a;
    this.lo = h;

    p = expect(b, this.view, p, HOST);
    if (p < 0) return false;
    this.hostStart = p;
    p = this.hashedString(p);
    if (p <= this.hostStart) return false;
    this.hostEnd = p;
    this.hostHash = this.hashA;
    this.hostCheck = this.hashB;

    p = expect(b, this.view, p, SHA);
    if (p < 0) return false;
    p = stringEnd(b, this.view, p);
    if (p < 0) return false;
    p = expect(b, this.view, p, SIZE);
    if (p < 0) return false;
    p = this.readNumber(p);
    if (p < 0) return false;
    const size = this.number;
    this.size = Number.isFinite(size) && size >= 0 ? Math.trunc(size) : Number.NaN;

    p = expect(b, this.view, p, RECEIVED);
    if (p < 0) return false;
    if (b[p] === QUOTE) {
      const start = p + 1;
      p = stringEnd(b, this.view, start);
      if (p < 0) return false;
      let ms = isoMsAt(b, start, p);
      if (Number.isNaN(ms)) ms = timestampMs(b.toString('latin1', start, p)) ?? Number.NaN;
      this.ms = ms;
      p++;
    } else {
      p = this.readNumber(p);
      if (p < 0) return false;
      this.ms = timestampMs(this.number) ?? Number.NaN;
    }

    if (b[p] === 0x2c /* , */) {
      p = expect(b, this.view, p, PATH);
      if (p < 0) return false;
      p = stringEnd(b, this.view, p);
      if (p < 0) return false;
      p++;
    }
    if (b[p] !== CLOSE) return false;
    p++;
    this.textEnd = p;
    if (b[p] === CR) p++;
    if (b[p] !== NL) return false;
    this.newline = p;
    return true;
  }

  /**
   * The closing quote of the string at `p` (as `stringEnd`), hashing its bytes on the way: the
   * two unfinished halves of hash64 land in `hashA` and `hashB`.
   */
  private hashedString(p: number): number {
    const b = this.b;
    let a = 0x811c9dc5;
    let h = 0x9e3779b9;
    for (;;) {
      const c = b[p] as number;
      const k = STRING_BYTE[c] as number;
      if (k !== 0) {
        if (k !== 1) return -1;
        this.hashA = a;
        this.hashB = h;
        return p;
      }
      a = Math.imul(a ^ c, 0x01000193);
      h = Math.imul(h ^ c, 0x5bd1e995);
      h ^= h >>> 15;
      p++;
    }
  }

  /** A number in JSON's grammar at `p` (sets `number`); the index after it, or -1. */
  private readNumber(p: number): number {
    const b = this.b;
    const start = p;
    const negative = b[p] === 0x2d; /* - */
    if (negative) p++;
    // The digits as one integer, while it stays exact (at most 15 digits).
    let mantissa = 0;
    let digits = 0;
    if (b[p] === 0x30) p++;
    else if (isDigit(b[p])) {
      while (isDigit(b[p])) {
        mantissa = mantissa * 10 + ((b[p] as number) - 0x30);
        digits++;
        p++;
      }
    } else return -1;
    let fraction = 0;
    if (b[p] === 0x2e /* . */) {
      p++;
      if (!isDigit(b[p])) return -1;
      while (isDigit(b[p])) {
        mantissa = mantissa * 10 + ((b[p] as number) - 0x30);
        digits++;
        fraction++;
        p++;
      }
    }
    let exponent = false;
    if (b[p] === 0x65 || b[p] === 0x45 /* e E */) {
      exponent = true;
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!isDigit(b[p])) return -1;
      while (isDigit(b[p])) p++;
    }
    if (!exponent && digits <= 15) {
      // An exact integer divided by an exact power of ten rounds once, correctly: the very double
      // Number() gives for the text (receivers write epoch seconds as 1700000000.123).
      const value = fraction === 0 ? mantissa : mantissa / (POWERS_OF_TEN[fraction] as number);
      this.number = negative ? -value : value;
    } else {
      this.number = Number(b.toString('latin1', start, p));
    }
    return p;
  }
}

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
  const reader = new LineReader(chunk);
  // Hosts by a 64-bit hash of their bytes (one half keys the map, the other confirms): a batch's
  // few hosts are then found without decoding or comparing names. Two names sharing all 64 bits
  // are as unlikely as two ids doing so (see IdHashSet).
  const hostByHash = new Map<number, { check: number; index: number }>();
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

  const last = chunk.lastIndexOf(NL);
  let p = 0;
  while (p <= last) {
    if (reader.read(p) && reader.newline - p <= maxLineBytes) {
      const known = hostByHash.get(reader.hostHash);
      let host: number;
      if (known !== undefined && known.check === reader.hostCheck) host = known.index;
      else {
        host = builder.hostFor(chunk.toString('latin1', reader.hostStart, reader.hostEnd));
        // Two hosts sharing the map's half: the first keeps the shortcut, the other is looked up
        // by name each time.
        if (known === undefined) hostByHash.set(reader.hostHash, { check: reader.hostCheck, index: host });
      }
      builder.addKey(reader.hi, reader.lo, host, reader.size, reader.ms, undefined, p, reader.textEnd);
      p = reader.newline + 1;
      continue;
    }
    const newline = chunk.indexOf(NL, p);
    slowPath(p, newline);
    p = newline + 1;
  }
  // A chunk cut short (the file shrank under the read): its rest is one line, as the tailer's
  // splitter would take it.
  if (p < chunk.length) slowPath(p, chunk.length - 1);
  return { batch: builder.finish(chunk), readSkips, readSkipExcerpts };
}
