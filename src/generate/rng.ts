/**
 * A small seeded PRNG (mulberry32) and the draws the generator needs. Everything the generator
 * writes derives from a seed and a fixed base time, never from `Math.random()` or the clock, so
 * the same seed writes the same data root byte for byte.
 */
export class Rng {
  private state: number;
  /** The seed this generator started from. */
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.state = this.seed;
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** A uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A uniform float in [min, max). */
  range(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty array');
    return item;
  }

  /** An index drawn with probability proportional to `weights[i]` (`total` is their sum). */
  weighted(weights: readonly number[], total: number): number {
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let out = '';
    while (out.length < n) out += hex8(this.u32());
    return out.slice(0, n);
  }

  /** A child generator whose stream depends on this one's seed and `key`, not on draws made so far. */
  fork(key: number): Rng {
    return new Rng(mix32(mix32(this.seed ^ 0x9e3779b9) ^ mix32(key >>> 0)));
  }
}

/**
 * A bijective 32-bit mixer (the murmur3 finaliser): distinct inputs give distinct outputs, so
 * `mix32(n ^ key)` turns a counter into unique, random-looking ids.
 */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A 32-bit value as 8 lowercase hex digits. */
export function hex8(x: number): string {
  return `${HEX[x >>> 24]}${HEX[(x >>> 16) & 255]}${HEX[(x >>> 8) & 255]}${HEX[x & 255]}`;
}

/**
 * Random hex in bulk: `count` strings of `length` digits. One native hex encoding for the batch
 * and cheap slices of it, instead of formatting every 32-bit draw.
 */
export function hexBatch(rng: Rng, count: number, length: number): string[] {
  const words = new Uint32Array(Math.ceil((count * length) / 8));
  for (let i = 0; i < words.length; i++) words[i] = rng.u32();
  // Byte order follows the platform; fine for random digits, and every platform we run is little-endian.
  const hex = Buffer.from(words.buffer).toString('hex');
  return Array.from({ length: count }, (_, i) => hex.slice(i * length, (i + 1) * length));
}
