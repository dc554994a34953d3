/**
 * A sum of doubles kept exactly (Shewchuk's non-overlapping partials, as Python's `math.fsum`),
 * read out correctly rounded. The value depends only on the multiset of numbers added, never on
 * their order nor on what was added and subtracted again. That is what lets the phase mix keep
 * running totals and apply only what changed: after any history of adds and removals the seconds
 * are bit-for-bit those a cold computation over the same episodes gives, with no drift to reset.
 *
 * Inputs are finite (durations in seconds); a sum whose partials overflow is not representable
 * and yields ±Infinity or NaN, as a plain sum would.
 */
export class ExactSum {
  /** Non-overlapping, increasing magnitude; their exact sum is the value. Usually 1–3 long. */
  private readonly partials: number[] = [];

  add(value: number): void {
    const p = this.partials;
    let x = value;
    let i = 0;
    for (let j = 0; j < p.length; j++) {
      let y = p[j] as number;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p.length = i;
    if (x !== 0) p.push(x);
  }

  /** The exact sum rounded once to the nearest double (ties to even), as `math.fsum`. */
  value(): number {
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n] as number;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n] as number;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Half-way case: the rest of the partials decide which way the rounding of hi + lo goes.
    if (n > 0 && ((lo < 0 && (p[n - 1] as number) < 0) || (lo > 0 && (p[n - 1] as number) > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}
