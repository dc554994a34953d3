/**
 * A scanned index line's catalog columns, read where the scanner found them (no record, no
 * decode of what the catalog keeps as JSON text): the first pass's writer path for lines with
 * more than the fast columns carry (a path, extra keys, an escaped id or sha256).
 *
 * Each column is what `parseIndexLine`'s record gives once stored: id, sha256 and path decoded
 * as the record decodes them, and `extra` as JSON text that `JSON.parse` (the only reader of the
 * column: `episodeFromRow`) turns into the very object the record holds — built from the raw
 * bytes of each extra key and value, not from a decoded object.
 */
import {
  decodeScalar,
  decodeString,
  decodeValue,
  type JsonLineScanner,
  KIND,
  latin1,
  utf8,
} from '../feeders/json-line.js';
import { INDEX, idString } from '../feeders/records.js';

/** The id of the scanned line (valid: the first pass accepted it); null when it has none. */
export function scannedId(sc: JsonLineScanner): string | null {
  const kind = sc.kind[INDEX.episode_id] as number;
  const s = sc.start[INDEX.episode_id] as number;
  const e = sc.end[INDEX.episode_id] as number;
  return kind === KIND.plainString && e > s ? latin1(sc.b, s, e) : idString(decodeScalar(sc.b, kind, s, e));
}

/** A string field of the scanned line (`INDEX.sha256`, `INDEX.path`), null when not a string. */
export function scannedText(sc: JsonLineScanner, field: number): string | null {
  const kind = sc.kind[field] as number;
  if (kind !== KIND.plainString && kind !== KIND.string) return null;
  return decodeString(sc.b, sc.start[field] as number, sc.end[field] as number, kind);
}

/**
 * The scanned line's extra keys as JSON text, null when it has none. Keys and values are its own
 * bytes (a key with its quotes and escapes, a value with its whitespace): `JSON.parse` of them is
 * what the record's decode gives, duplicate keys (the last value, at the first key's place) and
 * `__proto__` included. A value holding what JSON has no text for, or reads otherwise than the
 * record keeps it (NaN, ±Infinity, -0, a number that overflows: see `rawIsJson`), is written as
 * `JSON.stringify` of its decoded value instead, as the record's `JSON.stringify` wrote it.
 */
export function scannedExtraJson(sc: JsonLineScanner): string | null {
  const n = sc.extraCount;
  if (n === 0) return null;
  const b = sc.b;
  let out = '{';
  for (let i = 0; i < n; i++) {
    if (i > 0) out += ',';
    out += extraMember(
      b,
      sc.extraKeyStart[i] as number,
      sc.extraKeyEnd[i] as number,
      sc.extraValueStart[i] as number,
      sc.extraValueEnd[i] as number,
    );
  }
  return `${out}}`;
}

/**
 * `scannedExtraJson` of a line whose extra keys the first pass's scan noted (feeders/index-compact.ts
 * SPAN_HEAD): `n` of them, from `spans[from]` two positions each relative to the line's start
 * `base` in `b` — where the key begins (after its quote) and where the value ends. The key's end
 * and the value's start are found here, a few bytes on (the line is valid JSON: the scan said so).
 */
export function spannedExtraJson(
  b: Buffer,
  spans: Uint16Array,
  from: number,
  n: number,
  base: number,
): string | null {
  if (n === 0) return null;
  // The members' bytes are copied into one buffer and decoded once (a key and a value decoded
  // apart and joined were six decodes and five joins for a foreign line's three extra keys); a
  // value that is not its own JSON text sends the line to `extraMember`'s way.
  // Room: no more than the line's bytes from the first key's quote to the last value's end (each
  // member's bytes, with one-byte separators where the line has at least as many) and the braces.
  const last = from + 2 * n - 1;
  const most = (spans[last] as number) - (spans[from] as number) + n + 3;
  if (scratch.length < most) scratch = Buffer.allocUnsafe(Math.max(most, 2 * scratch.length));
  const out = scratch;
  let o = 0;
  out[o++] = 0x7b; // {
  for (let i = 0, k = from; i < n; i++, k += 2) {
    const ks = base + (spans[k] as number);
    const ve = base + (spans[k + 1] as number);
    const ke = keyEnd(b, ks);
    const vs = valueStart(b, ke);
    if (!rawIsJson(b, vs, ve)) return spannedExtraJsonByMember(b, spans, from, n, base);
    if (i > 0) out[o++] = 0x2c; // ,
    for (let p = ks - 1; p <= ke; p++) out[o++] = b[p] as number;
    out[o++] = COLON;
    for (let p = vs; p < ve; p++) out[o++] = b[p] as number;
  }
  out[o++] = 0x7d; // }
  return utf8(out, 0, o);
}

/** Where `spannedExtraJson` copies a line's members (grown when a line needs more). */
let scratch = Buffer.allocUnsafe(16 * 1024);

/** `spannedExtraJson` member by member, for a line with a value that is not its own JSON text. */
function spannedExtraJsonByMember(
  b: Buffer,
  spans: Uint16Array,
  from: number,
  n: number,
  base: number,
): string {
  let out = '{';
  for (let i = 0, k = from; i < n; i++, k += 2) {
    const ks = base + (spans[k] as number);
    const ke = keyEnd(b, ks);
    const vs = valueStart(b, ke);
    if (i > 0) out += ',';
    out += extraMember(b, ks, ke, vs, base + (spans[k + 1] as number));
  }
  return `${out}}`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** The closing quote of the key whose first byte (after its quote) is at `ks` (a backslash escapes the next byte). */
function keyEnd(b: Buffer, ks: number): number {
  let ke = ks;
  while (b[ke] !== QUOTE) ke += b[ke] === BACKSLASH ? 2 : 1;
  return ke;
}

/** The first byte of the value after the key closed at `ke`: past the colon and any space. */
function valueStart(b: Buffer, ke: number): number {
  let vs = ke + 1;
  while (b[vs] !== COLON) vs++;
  vs++;
  while (b[vs] === 0x20 || b[vs] === 0x09 || b[vs] === 0x0d) vs++;
  return vs;
}

/** One extra key and its value as JSON text (`"key":value`): key bytes [ks, ke), value bytes [vs, ve). */
function extraMember(b: Buffer, ks: number, ke: number, vs: number, ve: number): string {
  // The key's bytes with its quotes: plain ASCII, or a JSON string with escapes (valid UTF-8:
  // the scanner checked the line).
  // (Buffer's own decoder: `toString`'s argument handling was ≈ 0.1 s of the writer's CPU for
  // the 1M-line foreign index's extra keys.)
  const key = utf8(b, ks - 1, ke + 1);
  return `${key}:${rawIsJson(b, vs, ve) ? utf8(b, vs, ve) : JSON.stringify(decodeValue(b, vs))}`;
}

/** Digits beyond which a number's text might overflow to Infinity (1e308 has 309). */
const MAX_PLAIN_DIGITS = 300;

/**
 * True when the JSON value text [s, e) (valid: scanned) reads back through `JSON.parse` as the
 * decoded value's `JSON.stringify` does. Outside strings that fails only for Python's constants
 * (`NaN`, `Infinity`: not JSON), a minus (`-0` reads as -0, stringified as 0; `-1e-400` too), an
 * exponent (`1e400` reads as Infinity, stringified as null) and a run of digits long enough to
 * overflow; such a value is declined (then stringified from its decode).
 */
function rawIsJson(b: Buffer, s: number, e: number): boolean {
  let digits = 0;
  for (let p = s; p < e; p++) {
    const c = b[p] as number;
    if (c === 0x22 /* " */) {
      // Pass the string: a backslash escapes the next byte.
      for (p++; b[p] !== 0x22; p++) if (b[p] === 0x5c) p++;
      digits = 0;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > MAX_PLAIN_DIGITS) return false;
      continue;
    }
    digits = 0;
    // true, false, null: passed whole (their letters are no number's).
    if (c === 0x74 /* t */ || c === 0x6e /* n */) p += 3;
    else if (c === 0x66 /* f */) p += 4;
    // Now N(aN), I(nfinity), -, e, E are in a number or one of Python's constants.
    else if (c === 0x4e || c === 0x49 || c === 0x2d || c === 0x65 || c === 0x45) return false;
  }
  return true;
}
