import { describe, expect, it } from 'vitest';
import { ExactSum } from './exact-sum.js';

function sumOf(values: number[]): number {
  const s = new ExactSum();
  for (const v of values) s.add(v);
  return s.value();
}

describe('ExactSum', () => {
  it('is exact where a plain sum loses digits', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(sumOf([0.1, 0.2])).toBe(0.30000000000000004); // the doubles 0.1 and 0.2, summed exactly
    expect(sumOf([1e16, 1, -1e16])).toBe(1); // a plain left-to-right sum gives 0
    expect(sumOf([1, 1e100, 1, -1e100])).toBe(2);
    expect(sumOf([])).toBe(0);
  });

  it('rounds the exact sum once, half-way cases to even (as math.fsum)', () => {
    // 1 + 2^-53 is half-way between 1 and the next double; the tiny third term tips it up.
    expect(sumOf([1, 2 ** -53, 2 ** -100])).toBe(1 + 2 ** -52);
    expect(sumOf([1, 2 ** -53])).toBe(1);
    expect(sumOf([1, -(2 ** -54), -(2 ** -100)])).toBe(1 - 2 ** -53);
  });

  it('gives the same value whatever the order, and after adding and taking values away again', () => {
    const values = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) / 3.7 + i * 1e-7);
    const forward = sumOf(values);
    expect(sumOf([...values].reverse())).toBe(forward);
    const s = new ExactSum();
    for (const v of values) s.add(v);
    for (let i = 0; i < 200; i++) s.add(i / 9.1);
    for (let i = 199; i >= 0; i--) s.add(-(i / 9.1));
    expect(s.value()).toBe(forward);
    for (const v of values) s.add(-v);
    expect(s.value()).toBe(0);
  });
});
