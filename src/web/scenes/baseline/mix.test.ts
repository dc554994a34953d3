import { describe, expect, it } from 'vitest';
import { mixBar } from './mix.js';

describe('mixBar', () => {
  it('is time-weighted, with the denominator over displayed phases only and failed apart', () => {
    const bar = mixBar({
      counts: { idle: 2, running: 2, failed: 5 },
      weighted_seconds: { idle: 30, running: 90, failed: 1000 },
    });
    expect(bar.basis).toBe('time');
    expect(bar.denominator).toBe(120);
    expect(bar.segments.map((s) => [s.phase, s.fraction])).toEqual([
      ['idle', 0.25],
      ['running', 0.75],
    ]);
    expect(bar.apart).toEqual([{ phase: 'failed', count: 5, seconds: 1000 }]);
  });

  it('falls back to label counts when no displayed phase has a duration', () => {
    const bar = mixBar({ counts: { a: 1, b: 3 }, weighted_seconds: {} });
    expect(bar.basis).toBe('labels');
    expect(bar.segments.map((s) => s.fraction)).toEqual([0.25, 0.75]);
  });

  it('an empty mix has no shares rather than NaN', () => {
    const bar = mixBar({ counts: {}, weighted_seconds: {} });
    expect(bar.denominator).toBe(0);
    expect(bar.segments).toEqual([]);
  });
});
