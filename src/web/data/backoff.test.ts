import { describe, expect, it } from 'vitest';
import { nextDelayMs } from './backoff.js';

describe('nextDelayMs', () => {
  it('doubles from the base, stays within [nominal/2, nominal] and never passes the cap', () => {
    const lo = { base: 500, cap: 10_000, random: () => 0 };
    const hi = { base: 500, cap: 10_000, random: () => 0.999999 };
    expect(nextDelayMs(0, lo)).toBe(250);
    expect(nextDelayMs(0, hi)).toBe(500);
    expect(nextDelayMs(3, lo)).toBe(2000);
    expect(nextDelayMs(3, hi)).toBe(4000);
    expect(nextDelayMs(50, hi)).toBe(10_000);
    expect(nextDelayMs(50, lo)).toBe(5000);
  });
});
