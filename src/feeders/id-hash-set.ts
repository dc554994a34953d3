/**
 * A set of strings stored as 64-bit hashes in typed arrays (open addressing, linear probing):
 * 16 bytes per slot instead of ~60-100 for a JS Set of strings, so a run can remember every id it
 * accepted without growing much. Two different strings share a 64-bit hash with probability
 * about n²/2⁶⁵ (≈ 3·10⁻⁸ for a million ids); a collision makes `has` answer true for a new string.
 */
export class IdHashSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 1024;
    while (cap < initialCapacity * 2) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
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
    if (this.count * 2 >= this.hi.length) this.grow();
    return this.insert(h, l);
  }

  has(s: string): boolean {
    const [h, l] = hash64(s);
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      const slotHi = this.hi[i] as number;
      const slotLo = this.lo[i] as number;
      if (slotHi === 0 && slotLo === 0) return false;
      if (slotHi === h && slotLo === l) return true;
    }
  }

  private insert(h: number, l: number): boolean {
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      const slotHi = this.hi[i] as number;
      const slotLo = this.lo[i] as number;
      if (slotHi === 0 && slotLo === 0) {
        this.hi[i] = h;
        this.lo[i] = l;
        this.count++;
        return true;
      }
      if (slotHi === h && slotLo === l) return false;
    }
  }

  private grow(): void {
    const oldHi = this.hi;
    const oldLo = this.lo;
    this.hi = new Uint32Array(oldHi.length * 2);
    this.lo = new Uint32Array(oldLo.length * 2);
    this.count = 0;
    for (let i = 0; i < oldHi.length; i++) {
      const h = oldHi[i] as number;
      const l = oldLo[i] as number;
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
