/**
 * A set of strings stored as 64-bit hashes in one typed array (open addressing, linear probing,
 * the two halves of a hash side by side so a probe touches one cache line): 16 bytes per slot
 * at the 50% load it keeps, instead of ~60-100 for a JS Set of strings, so a run can remember
 * every id it accepted. Two different strings share a 64-bit hash with probability about n²/2⁶⁵
 * (≈ 3·10⁻⁸ for a million ids); a collision makes a new string look already present.
 */
export class IdHashSet {
  /** Pairs (hi, lo); (0, 0) marks an empty slot. */
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 1024;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
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
    if (this.count * 2 > this.mask) this.grow();
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
    const slots = this.slots;
    const mask = this.mask;
    let added = 0;
    for (let k = 0; k < count; k++) {
      if (status[k] !== 0) continue;
      const h = hi[k] as number;
      const l = lo[k] as number;
      for (let i = l & mask; ; i = (i + 1) & mask) {
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
    this.count += added;
    return repeats;
  }

  has(s: string): boolean {
    const [h, l] = hash64(s);
    const slots = this.slots;
    for (let i = l & this.mask; ; i = (i + 1) & this.mask) {
      const sh = slots[2 * i] as number;
      const sl = slots[2 * i + 1] as number;
      if (sh === 0 && sl === 0) return false;
      if (sh === h && sl === l) return true;
    }
  }

  private insert(h: number, l: number): boolean {
    const slots = this.slots;
    for (let i = l & this.mask; ; i = (i + 1) & this.mask) {
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
   * doublings (each re-inserts everything so far).
   */
  reserve(n: number): void {
    // The same load limit as `addHash`: at most half the slots used.
    let cap = this.mask + 1;
    while (n * 2 > cap - 1) cap *= 2;
    if (cap > this.mask + 1) this.grow(cap);
  }

  private grow(slotCount = (this.mask + 1) * 2): void {
    const old = this.slots;
    this.slots = new Uint32Array(slotCount * 2);
    this.mask = slotCount - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) {
      const h = old[i] as number;
      const l = old[i + 1] as number;
      if (h !== 0 || l !== 0) this.insert(h, l);
    }
  }
}

/** Two independent 32-bit FNV-1a style hashes over UTF-16 code units; (0, 0) is reserved for empty. */
export function hash64(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) >>> 0;
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35) >>> 0;
  return a === 0 && b === 0 ? [0, 1] : [a, b];
}

/**
 * `hash64` of the string the ASCII bytes [s, e) spell (a byte is then its code unit), into
 * `out` — read where the bytes lie, with nothing decoded or allocated.
 */
export function hashAscii(bytes: Uint8Array, s: number, e: number, out: Uint32Array): void {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = s; i < e; i++) {
    const c = bytes[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) >>> 0;
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35) >>> 0;
  out[0] = a;
  out[1] = a === 0 && b === 0 ? 1 : b;
}
