/**
 * The one reader of JSONL object lines (`index.jsonl`, `alerts.jsonl`), over UTF-8 bytes.
 *
 * `scan` walks one line of any valid JSON object — whitespace wherever JSON allows it, any key
 * order, extra keys of any JSON type, escapes, non-ASCII, numbers in every JSON form — plus the
 * three constants Python's `json.dumps` writes for floats (`NaN`, `Infinity`, `-Infinity`),
 * without building anything: for each field it is told about it notes where the value is and
 * what kind it is, and where the other keys' values are. Callers then decode only what they need
 * (`decode*`): the first pass hashes an id and reads a time straight from the bytes; a record
 * decodes every field. Anything it does not accept (invalid JSON, invalid UTF-8, nesting deeper
 * than MAX_DEPTH, a raw line feed) it declines, and the caller falls back to `parseJsonLine`,
 * the full parse — which decides, so both paths give the same result (`records.property.test.ts`).
 */
import { isUtf8 } from 'node:buffer';

/** What a scanned value is. */
export const KIND = {
  absent: 0,
  /** A string of printable ASCII without escapes: its bytes are its value. */
  plainString: 1,
  /** A string with escapes or non-ASCII characters. */
  string: 2,
  number: 3,
  nan: 4,
  infinity: 5,
  negInfinity: 6,
  true: 7,
  false: 8,
  null: 9,
  object: 10,
  array: 11,
} as const;

/** Containers nested deeper than this are left to the full parse. */
const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Per byte inside a string: 0 plain printable ASCII, 1 anything needing a look. */
const STRING_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++)
  STRING_BYTE[c] = c < 0x20 || c >= 0x80 || c === QUOTE || c === BACKSLASH ? 1 : 0;
/**
 * Per byte of a little-endian 32-bit word, its top bit set when the byte may need a look inside a
 * string: every byte ≥ 0x80, < 0x20, '"' or '\\' is flagged (the usual has-zero-byte tests); a
 * borrow may also flag a plain byte above a flagged one, never below it.
 */
function specialBytes(w: number): number {
  const q = w ^ 0x22222222;
  const s = w ^ 0x5c5c5c5c;
  return (w | ((w - 0x20202020) & ~w) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080;
}

/** The characters allowed after a backslash (`u` aside). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
const ESCAPED_CHAR: Record<number, string> = { 98: '\b', 102: '\f', 110: '\n', 114: '\r', 116: '\t' };
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 16; c++) {
  HEX['0123456789abcdef'.charCodeAt(c)] = c;
  HEX['0123456789ABCDEF'.charCodeAt(c)] = c;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
/** JSON whitespace but the line feed, which ends a line. */
const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0d;

const EMPTY = Buffer.alloc(0);

/** Slots of a scanner's key table (`slotField`): a power of two, well above its fields. */
const KEY_SLOTS = 64;
const KEY_SLOT_SHIFT = 32 - Math.log2(KEY_SLOTS);
/** Multipliers tried in turn until the fields' first words fall in distinct slots. */
const SLOT_MULTIPLIERS = [0x9e3779b1, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f, 0x165667b1, 0xcc9e2d51, 0x1b873593];
/** The slot of a key whose first four bytes (little-endian) are `word`. */
const keySlot = (word: number, mul: number) => Math.imul(word, mul) >>> KEY_SLOT_SHIFT;

/** 10^0 … 10^15, each exact as a double. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * Scans lines for a fixed set of known keys. One scanner is reused for every line (nothing is
 * allocated per line); its fields describe the last line `scan` accepted.
 */
export class JsonLineScanner {
  /** Per known field: `KIND` of its value (the last occurrence: JSON.parse keeps the last). */
  readonly kind: Uint8Array;
  /** Per known field: its value's bytes (a string's without the quotes). */
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** The other keys: key bytes (without quotes, `extraKeyEscaped` when not plain) and value bytes. */
  extraCount = 0;
  extraKeyStart = new Int32Array(8);
  extraKeyEnd = new Int32Array(8);
  extraKeyPlain = new Uint8Array(8);
  extraValueStart = new Int32Array(8);
  extraValueEnd = new Int32Array(8);
  /** The buffer of the last scan. */
  b: Buffer = Buffer.alloc(0);
  /**
   * The line as text when the caller had it and it is ASCII (byte offsets are then character
   * offsets): a plain string is then a slice of it, the cheapest string V8 makes.
   */
  text: string | null = null;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** `b` as aligned words: words[i] holds bytes [wordBase + 4i, wordBase + 4i + 4). */
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private wordBase = 0;
  private readonly keys: Uint8Array[];
  /**
   * Each key with its closing quote, for `expectKey`: its length, and its little-endian 32-bit
   * words at 0, 4, … and a last one ending with it (overlapping the one before when the length is
   * no multiple of four), field f's in litWords[litFrom[f], litFrom[f + 1]) (none below 4 bytes).
   */
  private readonly litLength: Int32Array;
  private readonly litFrom: Int32Array;
  private readonly litWords: Uint32Array;
  /**
   * Which field a key may be, by its first four bytes (`keySlot`): the field whose key and closing
   * quote start with them, or -1. Writers in any key order (a Python receiver's dicts, the mixed
   * and foreign indexes) then cost one lookup and one compare per key, where trying each field in
   * turn after a miss of the next one cost branches per field (scan and `addScanned` of a mixed
   * index 637 → 543 ns a line, foreign 972 → 873; python's unchanged). The next field in order is
   * still tried first, by its first word. A field the table cannot hold (a key under four bytes
   * with its quote, or one whose slot another took) is found by name (`fieldOf`).
   */
  private readonly slotField: Int8Array;
  /** Per field, the first four bytes of its key and closing quote (-1: shorter than that). */
  private readonly firstWords: Float64Array;
  /** The multiplier that spreads the fields' first words over `slotField` without collisions. */
  private readonly slotMul: number;
  /** Every field holds a slot: a plain key that is not in its slot is no field. */
  private readonly allSlotted: boolean;
  private strFlags = 0;
  private sawHigh = false;

  /** `fields`: the known keys, in the order of the per-field arrays. */
  constructor(readonly fields: readonly string[]) {
    this.keys = fields.map((f) => Buffer.from(f, 'latin1'));
    const literals = fields.map((f) => Buffer.from(`${f}"`, 'latin1'));
    this.litLength = Int32Array.from(literals, (l) => l.length);
    const words: number[] = [];
    this.litFrom = new Int32Array(fields.length + 1);
    literals.forEach((l, f) => {
      this.litFrom[f] = words.length;
      if (l.length < 4) return;
      for (let k = 0; k + 4 < l.length; k += 4) words.push(l.readUInt32LE(k));
      words.push(l.readUInt32LE(l.length - 4));
    });
    this.litFrom[fields.length] = words.length;
    this.litWords = Uint32Array.from(words);
    const firsts = literals.map((l) => (l.length >= 4 ? l.readUInt32LE(0) : -1));
    let best = { mul: SLOT_MULTIPLIERS[0] as number, slots: new Int8Array(KEY_SLOTS).fill(-1), held: -1 };
    for (const mul of SLOT_MULTIPLIERS) {
      const slots = new Int8Array(KEY_SLOTS).fill(-1);
      let held = 0;
      firsts.forEach((w, f) => {
        if (w === -1 || f > 127) return;
        const slot = keySlot(w, mul);
        if (slots[slot] !== -1) return;
        slots[slot] = f;
        held++;
      });
      if (held > best.held) best = { mul, slots, held };
      if (held === fields.length) break;
    }
    this.firstWords = Float64Array.from(firsts);
    this.slotField = best.slots;
    this.slotMul = best.mul;
    this.allSlotted = best.held === fields.length;
    this.kind = new Uint8Array(fields.length);
    this.start = new Int32Array(fields.length);
    this.end = new Int32Array(fields.length);
  }

  /**
   * Lets go of the last scanned buffer: a scanner kept at module level would otherwise hold the
   * first pass's last 4 MiB range for the life of the process.
   */
  release(): void {
    this.b = EMPTY;
    this.view = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
    this.words = new Int32Array(0);
    this.wordBase = 0;
    this.text = null;
  }

  /**
   * Scans the object line starting at `p` in `b`. Returns the index of the byte that ends it — a
   * line feed, or `b.length` — or -1 when declined. Whitespace (not a line feed) may surround it.
   */
  scan(b: Buffer, p: number): number {
    if (b !== this.b) {
      this.b = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.length);
      // The buffer's aligned 32-bit words, for `string`: from its first byte at a multiple of 4.
      this.wordBase = (4 - (b.byteOffset & 3)) & 3;
      const words = b.length > this.wordBase ? (b.length - this.wordBase) >> 2 : 0;
      this.words = new Int32Array(b.buffer, b.byteOffset + this.wordBase, words);
    }
    this.text = null;
    const lineStart = p;
    const kinds = this.kind;
    for (let f = 0; f < kinds.length; f++) kinds[f] = KIND.absent;
    this.extraCount = 0;
    this.sawHigh = false;
    const firstWords = this.firstWords;
    let next = 0;
    while (isSpace(b[p])) p++;
    if (b[p] !== 0x7b /* { */) return -1;
    p++;
    while (isSpace(b[p])) p++;
    if (b[p] === 0x7d /* } */) p++;
    else {
      for (;;) {
        if (b[p] !== QUOTE) return -1;
        const keyStart = p + 1;
        let field = -1;
        if (keyStart + 4 <= b.length) {
          // Most writers keep one key order: the field after the last one is tried first.
          const first = this.view.getUint32(keyStart, true);
          field =
            next < firstWords.length && first === firstWords[next]
              ? next
              : (this.slotField[keySlot(first, this.slotMul)] as number);
          if (field >= 0) field = this.expectKey(keyStart, field);
        }
        let keyEnd: number;
        if (field >= 0) keyEnd = keyStart + (this.litLength[field] as number) - 1;
        else {
          keyEnd = this.string(keyStart);
          if (keyEnd < 0) return -1;
          if (this.strFlags !== 0) field = this.escapedFieldOf(keyStart, keyEnd);
          else if (!this.allSlotted) field = this.fieldOf(keyStart, keyEnd);
          // A key that is no field: an extra one (its flags are read below).
          if (field < 0) this.addExtra(keyStart, keyEnd, this.strFlags === 0, 0, 0);
        }
        // An extra key leaves the expected next field as it was.
        if (field >= 0) next = field + 1;
        p = keyEnd + 1;
        while (isSpace(b[p])) p++;
        if (b[p] !== 0x3a /* : */) return -1;
        p++;
        while (isSpace(b[p])) p++;
        const valueAt = p;
        // Most values are strings: read without `value`'s dispatch.
        const after = b[p] === QUOTE ? this.stringValue(p) : this.value(p, 0);
        if (after < 0) return -1;
        const kind = this.valueKind;
        if (field >= 0) {
          const quoted = kind === KIND.plainString || kind === KIND.string ? 1 : 0;
          kinds[field] = kind;
          this.start[field] = valueAt + quoted;
          this.end[field] = after - quoted;
        } else {
          // Its key was added above; now its value.
          this.extraValueStart[this.extraCount - 1] = valueAt;
          this.extraValueEnd[this.extraCount - 1] = after;
        }
        p = after;
        while (isSpace(b[p])) p++;
        if (b[p] === 0x2c /* , */) {
          p++;
          while (isSpace(b[p])) p++;
          continue;
        }
        if (b[p] !== 0x7d) return -1;
        p++;
        break;
      }
    }
    while (isSpace(b[p])) p++;
    if (p < b.length && b[p] !== 0x0a) return -1;
    // Bytes beyond ASCII were let through inside strings: the line must be valid UTF-8 (else the
    // tailer's decoder reports it and substitutes U+FFFD, which the full parse then sees).
    if (this.sawHigh && !isUtf8(b.subarray(lineStart, p))) return -1;
    return p;
  }

  /** `field` when its key and closing quote are at `p`, else -1. Compared four bytes at a time. */
  private expectKey(p: number, field: number): number {
    const len = this.litLength[field] as number;
    const b = this.b;
    if (p + len > b.length) return -1;
    const from = this.litFrom[field] as number;
    const last = (this.litFrom[field + 1] as number) - 1;
    const words = this.litWords;
    if (last < from) {
      // Shorter than a word: byte by byte.
      const key = this.keys[field] as Uint8Array;
      for (let k = 0; k < key.length; k++) if (b[p + k] !== key[k]) return -1;
      return b[p + key.length] === QUOTE ? field : -1;
    }
    const view = this.view;
    for (let k = from; k < last; k++) if (view.getUint32(p + 4 * (k - from), true) !== words[k]) return -1;
    // The last word ends with the literal (it may overlap the one before).
    return view.getUint32(p + len - 4, true) === words[last] ? field : -1;
  }

  /** The known field whose name is the plain bytes [s, e), or -1. */
  private fieldOf(s: number, e: number): number {
    const b = this.b;
    const len = e - s;
    const keys = this.keys;
    outer: for (let f = 0; f < keys.length; f++) {
      const k = keys[f] as Uint8Array;
      if (k.length !== len) continue;
      for (let i = 0; i < len; i++) if (k[i] !== b[s + i]) continue outer;
      return f;
    }
    return -1;
  }

  private escapedFieldOf(s: number, e: number): number {
    return this.fields.indexOf(decodeString(this.b, s, e, KIND.string));
  }

  private addExtra(ks: number, ke: number, plain: boolean, vs: number, ve: number): void {
    const i = this.extraCount++;
    if (i === this.extraKeyStart.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, to: T): T => {
        to.set(a as never);
        return to;
      };
      this.extraKeyStart = grow(this.extraKeyStart, new Int32Array(i * 2));
      this.extraKeyEnd = grow(this.extraKeyEnd, new Int32Array(i * 2));
      this.extraKeyPlain = grow(this.extraKeyPlain, new Uint8Array(i * 2));
      this.extraValueStart = grow(this.extraValueStart, new Int32Array(i * 2));
      this.extraValueEnd = grow(this.extraValueEnd, new Int32Array(i * 2));
    }
    this.extraKeyStart[i] = ks;
    this.extraKeyEnd[i] = ke;
    this.extraKeyPlain[i] = plain ? 1 : 0;
    // An extra value is kept whole (a string with its quotes): `decodeValue` reads it.
    this.extraValueStart[i] = vs;
    this.extraValueEnd[i] = ve;
  }

  /** The kind of the value `value` last passed. */
  private valueKind = 0;

  /** `value` for the string whose opening quote is at `p`. */
  private stringValue(p: number): number {
    const e = this.string(p + 1);
    if (e < 0) return -1;
    this.valueKind = this.strFlags === 0 ? KIND.plainString : KIND.string;
    return e + 1;
  }

  /** Passes the value at `p` (validating it); the index after it, or -1. Sets `valueKind`. */
  private value(p: number, depth: number): number {
    const b = this.b;
    const c = b[p];
    if (c === QUOTE) return this.stringValue(p);
    if (c === 0x2d /* - */ || isDigit(c)) {
      if (c === 0x2d && b[p + 1] === 0x49 /* I */) {
        this.valueKind = KIND.negInfinity;
        return this.literal(p + 1, 'Infinity');
      }
      this.valueKind = KIND.number;
      return this.number(p);
    }
    if (c === 0x7b || c === 0x5b /* [ */) {
      if (depth >= MAX_DEPTH) return -1;
      const e = c === 0x7b ? this.object(p, depth + 1) : this.array(p, depth + 1);
      this.valueKind = c === 0x7b ? KIND.object : KIND.array;
      return e;
    }
    switch (c) {
      case 0x74:
        this.valueKind = KIND.true;
        return this.literal(p, 'true');
      case 0x66:
        this.valueKind = KIND.false;
        return this.literal(p, 'false');
      case 0x6e:
        this.valueKind = KIND.null;
        return this.literal(p, 'null');
      case 0x4e:
        this.valueKind = KIND.nan;
        return this.literal(p, 'NaN');
      case 0x49:
        this.valueKind = KIND.infinity;
        return this.literal(p, 'Infinity');
      default:
        return -1;
    }
  }

  private literal(p: number, word: string): number {
    const b = this.b;
    // What follows is checked by the caller's grammar (`nullx`, `NaN1` are invalid there).
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) return -1;
    return p + word.length;
  }

  private object(p: number, depth: number): number {
    const b = this.b;
    p++;
    while (isSpace(b[p])) p++;
    if (b[p] === 0x7d) return p + 1;
    for (;;) {
      if (b[p] !== QUOTE) return -1;
      const e = this.string(p + 1);
      if (e < 0) return -1;
      p = e + 1;
      while (isSpace(b[p])) p++;
      if (b[p] !== 0x3a) return -1;
      p++;
      while (isSpace(b[p])) p++;
      p = this.value(p, depth);
      if (p < 0) return -1;
      while (isSpace(b[p])) p++;
      if (b[p] === 0x7d) return p + 1;
      if (b[p] !== 0x2c) return -1;
      p++;
      while (isSpace(b[p])) p++;
    }
  }

  private array(p: number, depth: number): number {
    const b = this.b;
    p++;
    while (isSpace(b[p])) p++;
    if (b[p] === 0x5d /* ] */) return p + 1;
    for (;;) {
      p = this.value(p, depth);
      if (p < 0) return -1;
      while (isSpace(b[p])) p++;
      if (b[p] === 0x5d) return p + 1;
      if (b[p] !== 0x2c) return -1;
      p++;
      while (isSpace(b[p])) p++;
    }
  }

  /** A number in JSON's grammar at `p`; the index after it, or -1. */
  private number(p: number): number {
    const b = this.b;
    if (b[p] === 0x2d) p++;
    if (b[p] === 0x30) p++;
    else if (isDigit(b[p])) while (isDigit(b[p])) p++;
    else return -1;
    if (b[p] === 0x2e) {
      p++;
      if (!isDigit(b[p])) return -1;
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!isDigit(b[p])) return -1;
      while (isDigit(b[p])) p++;
    }
    return p;
  }

  /**
   * The closing quote of the string whose first byte is at `p`, or -1 when it is not a valid
   * JSON string. Sets `strFlags` (non-zero: escapes or non-ASCII bytes). Bytes are passed four at
   * a time through the buffer's aligned words (`specialBytes`), from the word that holds `p` (its
   * bytes before `p` masked off) to the first word with a byte that may be special, whose lowest
   * such byte is then looked at; only the up to three bytes at either end of the buffer outside
   * its words go one by one. (Bytes up to the next word boundary and after the last plain word
   * went one by one before: a mixed line 549 → 529 ns, a foreign one 878 → 821, scan and
   * `addScanned`. Four at a time through a DataView, unaligned, was measured slower than bytes;
   * two words a step, no faster.)
   */
  private string(p: number): number {
    const b = this.b;
    const words = this.words;
    const base = this.wordBase;
    let flags = 0;
    for (;;) {
      let c: number;
      const at = p - base;
      if (at >= 0 && at >> 2 < words.length) {
        let i = at >> 2;
        let special = specialBytes(words[i] as number) & (-1 << ((at & 3) << 3));
        while (special === 0 && ++i < words.length) special = specialBytes(words[i] as number);
        if (special === 0) {
          // Past the last word: the buffer's last bytes one by one.
          p = base + 4 * i;
          c = b[p] as number;
          while (STRING_BYTE[c] === 0) c = b[++p] as number;
        } else {
          // The lowest byte flagged (a borrow may flag a plain byte above a special one, never
          // below it, and never misses one): look at it.
          p = base + 4 * i + ((31 - Math.clz32(special & -special)) >> 3);
          c = b[p] as number;
          if (STRING_BYTE[c] === 0) {
            p++;
            continue;
          }
        }
      } else {
        // Outside the buffer's words (its first or last up to three bytes): byte by byte.
        c = b[p] as number;
        if (STRING_BYTE[c] === 0) {
          p++;
          continue;
        }
      }
      if (c === undefined) return -1;
      if (c === QUOTE) {
        this.strFlags = flags;
        return p;
      }
      if (c === BACKSLASH) {
        flags = 1;
        const e = b[p + 1] as number;
        if (e === 0x75 /* u */) {
          const unit = escapedUnit(b, p);
          if (unit < 0) return -1;
          // A surrogate escape must be a pair (high then low): a lone one is declined, and the
          // full parse reads it as U+FFFD (records.ts `wellFormed`), as a lone surrogate has no
          // UTF-8 for the catalog, the API or the browser to carry.
          if (unit >= 0xd800 && unit <= 0xdfff) {
            if (unit > 0xdbff || b[p + 6] !== BACKSLASH || b[p + 7] !== 0x75) return -1;
            const low = escapedUnit(b, p + 6);
            if (low < 0xdc00 || low > 0xdfff) return -1;
            p += 6;
          }
          p += 6;
        } else if (SIMPLE_ESCAPE[e] === 1) p += 2;
        else return -1;
        continue;
      }
      if (c < 0x20) return -1;
      // Bytes from 0x80 are UTF-8 (checked once per line).
      this.sawHigh = true;
      flags = 1;
      p++;
    }
  }
}

/** The UTF-16 unit of the `\\uXXXX` escape whose backslash is at `p`; -1 if not four hex digits. */
function escapedUnit(b: Buffer, p: number): number {
  const h0 = HEX[b[p + 2] as number] as number;
  const h1 = HEX[b[p + 3] as number] as number;
  const h2 = HEX[b[p + 4] as number] as number;
  const h3 = HEX[b[p + 5] as number] as number;
  // (Past the buffer's end a digit reads undefined: no digit either.)
  if (!(h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0)) return -1;
  return (h0 << 12) | (h1 << 8) | (h2 << 4) | h3;
}

/**
 * Buffer's own decoders, without `toString`'s argument handling (a third of a record's cost when
 * a line has six short strings). Present on every Buffer; missing from @types/node.
 */
interface Slices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
export const latin1 = (b: Buffer, s: number, e: number) => (b as unknown as Slices).latin1Slice(s, e);
export const utf8 = (b: Buffer, s: number, e: number) => (b as unknown as Slices).utf8Slice(s, e);

/** The string whose bytes (between the quotes) are [s, e), of `kind` plainString or string. */
export function decodeString(b: Buffer, s: number, e: number, kind: number): string {
  if (kind === KIND.plainString) return latin1(b, s, e);
  let out = '';
  let run = s;
  let p = s;
  while (p < e) {
    if (b[p] !== BACKSLASH) {
      p++;
      continue;
    }
    if (p > run) out += utf8(b, run, p);
    const c = b[p + 1] as number;
    if (c === 0x75) {
      out += String.fromCharCode(
        ((HEX[b[p + 2] as number] as number) << 12) |
          ((HEX[b[p + 3] as number] as number) << 8) |
          ((HEX[b[p + 4] as number] as number) << 4) |
          (HEX[b[p + 5] as number] as number),
      );
      p += 6;
    } else {
      out += ESCAPED_CHAR[c] ?? String.fromCharCode(c);
      p += 2;
    }
    run = p;
  }
  if (e > run) out += utf8(b, run, e);
  return out;
}

/** The number whose JSON text is [s, e): the very double `JSON.parse` gives. */
export function decodeNumber(b: Buffer, s: number, e: number): number {
  let p = s;
  const negative = b[p] === 0x2d;
  if (negative) p++;
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  for (; p < e; p++) {
    const c = b[p] as number;
    if (c === 0x2e) {
      fraction = e - p - 1;
      continue;
    }
    if (c < 0x30 || c > 0x39) return Number(latin1(b, s, e)); // an exponent
    mantissa = mantissa * 10 + (c - 0x30);
    digits++;
  }
  if (digits > 15) return Number(latin1(b, s, e));
  // An exact integer divided by an exact power of ten rounds once, correctly: the very double
  // Number() gives for the text (receivers write epoch seconds as 1700000000.123).
  const value = fraction === 0 ? mantissa : mantissa / (POWERS_OF_TEN[fraction] as number);
  return negative ? -value : value;
}

/** Sets an own enumerable property, as JSON.parse does (so `__proto__` is a key, not the prototype). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** The value of the kind `kind` at [s, e) (strings: between the quotes), as JSON.parse gives it. */
export function decodeScalar(b: Buffer, kind: number, s: number, e: number): unknown {
  switch (kind) {
    case KIND.plainString:
    case KIND.string:
      return decodeString(b, s, e, kind);
    case KIND.number:
      return decodeNumber(b, s, e);
    case KIND.nan:
      return Number.NaN;
    case KIND.infinity:
      return Number.POSITIVE_INFINITY;
    case KIND.negInfinity:
      return Number.NEGATIVE_INFINITY;
    case KIND.true:
      return true;
    case KIND.false:
      return false;
    case KIND.null:
      return null;
    case KIND.absent:
      return undefined;
    default:
      return decodeValue(b, s);
  }
}

/** The JSON value (already validated by `scan`) whose text starts at `s`. */
export function decodeValue(b: Buffer, s: number): unknown {
  return readValue(b, { p: s });
}

function skipSpace(b: Buffer, r: { p: number }): void {
  while (isSpace(b[r.p])) r.p++;
}

function readValue(b: Buffer, r: { p: number }): unknown {
  skipSpace(b, r);
  const c = b[r.p] as number;
  if (c === QUOTE) {
    const s = r.p + 1;
    let p = s;
    let kind: number = KIND.plainString;
    for (let ch = b[p] as number; ch !== QUOTE; ch = b[p] as number) {
      if (ch === BACKSLASH) p++;
      if (ch === BACKSLASH || ch >= 0x80) kind = KIND.string;
      p++;
    }
    r.p = p + 1;
    return decodeString(b, s, p, kind);
  }
  if (c === 0x7b) {
    const obj: Record<string, unknown> = {};
    r.p++;
    skipSpace(b, r);
    if (b[r.p] === 0x7d) {
      r.p++;
      return obj;
    }
    for (;;) {
      const key = readValue(b, r) as string;
      skipSpace(b, r);
      r.p++; // ':'
      setOwn(obj, key, readValue(b, r));
      skipSpace(b, r);
      if (b[r.p++] === 0x7d) return obj; // else ','
    }
  }
  if (c === 0x5b) {
    const arr: unknown[] = [];
    r.p++;
    skipSpace(b, r);
    if (b[r.p] === 0x5d) {
      r.p++;
      return arr;
    }
    for (;;) {
      arr.push(readValue(b, r));
      skipSpace(b, r);
      if (b[r.p++] === 0x5d) return arr;
    }
  }
  if (c === 0x2d || isDigit(c)) {
    if (b[r.p + 1] === 0x49) {
      r.p += 9;
      return Number.NEGATIVE_INFINITY;
    }
    const s = r.p;
    let p = s + 1;
    while (isNumberByte(b[p])) p++;
    r.p = p;
    return decodeNumber(b, s, p);
  }
  for (const [word, value] of WORDS) {
    if (b[r.p] === word.charCodeAt(0)) {
      r.p += word.length;
      return value;
    }
  }
  throw new Error(`unreachable: not a JSON value at ${r.p}`);
}

const WORDS: ReadonlyArray<readonly [string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
];

const isNumberByte = (c: number | undefined) =>
  c !== undefined &&
  ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d);

/**
 * The full parse, for lines `scan` declines: `JSON.parse`, plus Python's `NaN`, `Infinity` and
 * `-Infinity` where `json.loads` reads them. Throws a SyntaxError on anything else.
 */
export function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    if (!/NaN|Infinity/.test(line)) throw err;
  }
  // NaN becomes a marker string the reviver turns back. The marker holds a NUL, which a JSON
  // string can only spell as `\u0000`: a line without that escape cannot hold it; one with it is
  // read once more with NaN as null, to pick a marker none of its own strings equals.
  const nulEscape = line.includes('\\u0000');
  for (let attempt = 0; ; attempt++) {
    const marker = `\u0000NaN${attempt}`;
    if (nulEscape) {
      let own = 0;
      JSON.parse(withPythonConstants(line, 'null'), (_key, v) => {
        if (v === marker) own++;
        return v;
      });
      if (own > 0) continue;
    }
    return JSON.parse(withPythonConstants(line, JSON.stringify(marker)), (_key, v) =>
      v === marker ? Number.NaN : v,
    );
  }
}

/**
 * The line with Python's constants outside strings rewritten for JSON.parse: ±Infinity as a
 * number that overflows to it (JSON.parse reads 1e400 as Infinity, as json.loads does), NaN as
 * `nan`. Spaces around each keep a token glued to it (`NaN1`, `1Infinity`) invalid, as in Python.
 */
function withPythonConstants(line: string, nan: string): string {
  let out = '';
  let run = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      continue;
    }
    let word: string | null = null;
    let replacement = '';
    if (c === 0x4e && line.startsWith('NaN', i)) {
      word = 'NaN';
      replacement = ` ${nan} `;
    } else if (c === 0x49 && line.startsWith('Infinity', i)) {
      word = 'Infinity';
      replacement = ' 1e400 ';
    } else if (c === 0x2d && line.startsWith('-Infinity', i)) {
      word = '-Infinity';
      replacement = ' -1e400 ';
    }
    if (word === null) continue;
    out += line.slice(run, i) + replacement;
    i += word.length - 1;
    run = i + 1;
  }
  return out + line.slice(run);
}
