/**
 * A set of strings stored as 64-bit hashes in one typed array (open addressing, linear probing,
 * the two halves of a hash side by side so a probe touches one cache line): 8 bytes per slot, at
 * most three quarters of the slots used and half after each growth (×1.5; `reserve` sizes it for
 * two thirds) — 10.7 to 16 bytes per id instead of ~60-100 for a JS Set of strings, so a run can
 * remember every id it accepted (a million ids: 1.5M slots, 12 MiB; the power-of-two table at
 * half load it replaces took 16). A hash's first slot is its low half scaled to the table
 * (multiply-shift), so the table can have any size. Two different strings share a 64-bit hash
 * with probability about n²/2⁶⁵ (≈ 3·10⁻⁸ for a million ids); a collision makes a new string
 * look already present.
 */
export class IdHashSet {
  /** Pairs (hi, lo); (0, 0) marks an empty slot. */
  private slots: Uint32Array;
  /** Slots in the table. */
  private cap: number;
  /** `cap / 2³²`: a hash's low half times this, rounded down, is its first slot. */
  private scale: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.cap = slotsFor(Math.max(initialCapacity, MIN_SLOTS));
    this.slots = new Uint32Array(this.cap * 2);
    this.scale = this.cap / 2 ** 32;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the string; returns false when it (or its hash) was already present. */
  add(s: string): boolean {
    const [h, l] = hash64(s);
    return this.addHash(h, l);
  }

  /** Adds a hash computed elsewhere (by `hash64`, e.g. in a parse worker). */
  addHash(h: number, l: number): boolean {
    if (this.count >= maxCount(this.cap)) this.grow(Math.ceil(this.cap * GROWTH));
    return this.insert(h, l);
  }

  /**
   * Adds the hashes of lines `i < count` whose `status[i]` is 0 (the others are skipped), in
   * order; returns the indexes of those already present (repeats, including repeats within the
   * batch). The same as `addHash` line by line, in one loop: a first pass adds a million.
   */
  addBatch(hi: Uint32Array, lo: Uint32Array, status: Uint8Array, count: number): number[] {
    const repeats: number[] = [];
    // Room for the whole batch first, so the loop needs no growth check.
    this.reserve(this.count + count);
    this.count += insertBatch(this.slots, this.cap, this.scale, hi, lo, status, count, repeats);
    return repeats;
  }

  has(s: string): boolean {
    const [h, l] = hash64(s);
    const slots = this.slots;
    const cap = this.cap;
    for (let i = Math.floor(l * this.scale); ; i = i + 1 === cap ? 0 : i + 1) {
      const sh = slots[2 * i] as number;
      const sl = slots[2 * i + 1] as number;
      if (sh === 0 && sl === 0) return false;
      if (sh === h && sl === l) return true;
    }
  }

  private insert(h: number, l: number): boolean {
    const slots = this.slots;
    const cap = this.cap;
    for (let i = Math.floor(l * this.scale); ; i = i + 1 === cap ? 0 : i + 1) {
      const sh = slots[2 * i] as number;
      const sl = slots[2 * i + 1] as number;
      if (sh === 0 && sl === 0) {
        slots[2 * i] = h;
        slots[2 * i + 1] = l;
        this.count++;
        return true;
      }
      if (sh === h && sl === l) return false;
    }
  }

  /**
   * Makes room for `n` strings in all, at once: a large first pass that knows its size skips the
   * growths (each re-inserts everything so far). The table then holds them at two thirds of its
   * slots, so an estimate short by up to an eighth still needs no growth.
   */
  reserve(n: number): void {
    if (n > maxCount(this.cap)) this.grow(Math.max(Math.ceil(n * GROWTH), Math.ceil(this.cap * GROWTH)));
  }

  private grow(slotCount: number): void {
    const old = this.slots;
    this.cap = slotCount;
    this.slots = new Uint32Array(slotCount * 2);
    this.scale = slotCount / 2 ** 32;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) {
      const h = old[i] as number;
      const l = old[i + 1] as number;
      if (h !== 0 || l !== 0) this.insert(h, l);
    }
  }
}

/**
 * `addBatch`'s loop, on its own: it returns how many it added and touches nothing after its loop.
 * Inline there, V8's on-stack-replaced code for the loop met `this.count` after it with no type
 * feedback and was thrown away at the end of every batch (`--trace-deopt`: once per batch of a
 * first pass, each batch then starting again in the interpreter); now none.
 */
function insertBatch(
  slots: Uint32Array,
  cap: number,
  scale: number,
  hi: Uint32Array,
  lo: Uint32Array,
  status: Uint8Array,
  count: number,
  repeats: number[],
): number {
  let added = 0;
  for (let k = 0; k < count; k++) {
    if (status[k] !== 0) continue;
    const h = hi[k] as number;
    const l = lo[k] as number;
    for (let i = Math.floor(l * scale); ; i = i + 1 === cap ? 0 : i + 1) {
      const sh = slots[2 * i] as number;
      const sl = slots[2 * i + 1] as number;
      if (sh === 0 && sl === 0) {
        slots[2 * i] = h;
        slots[2 * i + 1] = l;
        added++;
        break;
      }
      if (sh === h && sl === l) {
        repeats.push(k);
        break;
      }
    }
  }
  return added;
}

/** The smallest table. */
const MIN_SLOTS = 1024;
/** How much a full table grows. */
const GROWTH = 1.5;

/** The share of a table's slots it fills before it grows (linear probing stays short). */
const MAX_LOAD = 0.75;

/** Most strings a table of `cap` slots holds. */
function maxCount(cap: number): number {
  return Math.floor(cap * MAX_LOAD);
}

/** Slots for `n` strings at half load (the constructor's initial capacity). */
function slotsFor(n: number): number {
  return Math.max(MIN_SLOTS, Math.ceil(n * 2));
}

/*
 * The id hash: two 32-bit lanes fed the same 32-bit blocks of the string (MurmurHash3's block
 * mix), each with its own seed, rotation and final mix. A block is four code units when every
 * unit is below 256 (so `hashAscii` over the bytes of an ASCII string gives the same value,
 * reading four bytes per step: a byte-at-a-time hash was ≈ 5 cycles a byte of dependent
 * multiplies, a tenth of the scanner's time per line on long ids), else two (a unit is then
 * 16 bits and must not overlap its neighbour). (0, 0) is reserved for empty.
 */
const SEED_A = 0x811c9dc5;
const SEED_B = 0x9e3779b9;
/** The two-unit blocks' lanes start elsewhere, so the two block sizes never meet. */
const WIDE = 0x5bd1e995;

/** MurmurHash3's block mix. */
function mixBlock(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** A lane after one more block (`k` mixed). */
function laneA(a: number, k: number): number {
  a ^= k;
  a = (a << 13) | (a >>> 19);
  return (Math.imul(a, 5) + 0xe6546b64) | 0;
}

function laneB(b: number, k: number): number {
  b ^= k;
  b = (b << 17) | (b >>> 15);
  return (Math.imul(b, 9) + 0x7f4a7c15) | 0;
}

/** MurmurHash3's final mix. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `hash64` into `out`, from the lanes after the whole blocks and the last partial block (`k`, mixed; 0: none). */
function finish(a: number, b: number, k: number, units: number, out: Uint32Array): void {
  a ^= k;
  b ^= k;
  const ha = fmix(a ^ units);
  const hb = fmix(b ^ Math.imul(units, 0x27d4eb2f));
  out[0] = ha;
  out[1] = ha === 0 && hb === 0 ? 1 : hb;
}

const out64 = new Uint32Array(2);

/** Two 32-bit hashes of the string's UTF-16 code units (see above); (0, 0) is reserved for empty. */
export function hash64(s: string): [number, number] {
  const n = s.length;
  let narrow = true;
  for (let i = 0; i < n && narrow; i++) narrow = s.charCodeAt(i) < 256;
  let a = SEED_A;
  let b = SEED_B;
  let i = 0;
  let k = 0;
  if (narrow) {
    for (; i + 4 <= n; i += 4) {
      k = mixBlock(
        s.charCodeAt(i) |
          (s.charCodeAt(i + 1) << 8) |
          (s.charCodeAt(i + 2) << 16) |
          (s.charCodeAt(i + 3) << 24),
      );
      a = laneA(a, k);
      b = laneB(b, k);
    }
    k = 0;
    for (let shift = 0; i < n; i++, shift += 8) k |= s.charCodeAt(i) << shift;
  } else {
    a ^= WIDE;
    b ^= WIDE;
    for (; i + 2 <= n; i += 2) {
      k = mixBlock(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
      a = laneA(a, k);
      b = laneB(b, k);
    }
    k = i < n ? s.charCodeAt(i) : 0;
  }
  finish(a, b, mixBlock(k), n, out64);
  return [out64[0] as number, out64[1] as number];
}

/**
 * `hash64` of the string the ASCII bytes [s, e) spell (a byte is then its code unit), into
 * `out` — read where the bytes lie, four at a time, with nothing decoded or allocated.
 */
export function hashAscii(bytes: Uint8Array, s: number, e: number, out: Uint32Array): void {
  // `mixBlock`, `laneA` and `laneB` written out: V8 left the lanes as calls here.
  let a = SEED_A;
  let b = SEED_B;
  let i = s;
  for (; i + 4 <= e; i += 4) {
    let k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
    b ^= k;
    b = (Math.imul((b << 17) | (b >>> 15), 9) + 0x7f4a7c15) | 0;
  }
  let k = 0;
  for (let shift = 0; i < e; i++, shift += 8) k |= (bytes[i] as number) << shift;
  finish(a, b, mixBlock(k), e - s, out);
}
