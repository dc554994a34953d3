import { describe, expect, it } from 'vitest';
import { aggregateEpisode, labelsWithDurations, metaEndNs } from './aggregate.js';

const S = 1e9;

describe('aggregateEpisode (the seed semantics, hand-checked)', () => {
  it('gives each phase the time to the next record, sorted by t_mono_ns, and counts the trailing one', () => {
    // Written out of order; sorted: boot@1s, baseline@3s, infecting@3.5s, running@10s.
    const got = aggregateEpisode(
      [
        { phase: 'infecting', t_mono_ns: 3.5 * S },
        { phase: 'boot', t_mono_ns: 1 * S },
        { phase: 'running', t_mono_ns: 10 * S },
        { phase: 'baseline', t_mono_ns: 3 * S },
      ],
      null,
    );
    expect(got).toEqual({
      counts: { boot: 1, baseline: 1, infecting: 1, running: 1 },
      seconds: { boot: 2, baseline: 0.5, infecting: 6.5 },
      labels: 4,
    });
  });

  it('ends the trailing phase at meta.json t_mono_end_ns when it is a number not before it', () => {
    const records = [
      { phase: 'boot', t_mono_ns: 1 * S },
      { phase: 'running', t_mono_ns: 4 * S },
    ];
    expect(aggregateEpisode(records, 9 * S).seconds).toEqual({ boot: 3, running: 5 });
    expect(aggregateEpisode(records, 4 * S).seconds).toEqual({ boot: 3, running: 0 });
    expect(aggregateEpisode(records, 3 * S).seconds).toEqual({ boot: 3 });
    expect(aggregateEpisode(records, 3 * S).counts).toEqual({ boot: 1, running: 1 });
    expect(metaEndNs({ t_mono_end_ns: 7 })).toBe(7);
    expect(metaEndNs({ t_mono_end_ns: '7' })).toBeNull();
    expect(metaEndNs({ t_mono_end_ns: true })).toBeNull();
    expect(metaEndNs(null)).toBeNull();
  });

  it('counts a single record (no duration without meta, up to the end with it)', () => {
    expect(aggregateEpisode([{ phase: 'boot', t_mono_ns: 2 * S }], null)).toEqual({
      counts: { boot: 1 },
      seconds: {},
      labels: 1,
    });
    expect(aggregateEpisode([{ phase: 'boot', t_mono_ns: 2 * S }], 5 * S).seconds).toEqual({ boot: 3 });
    expect(aggregateEpisode([{ note: 'no phase' }], 5 * S).labels).toBe(0);
    expect(aggregateEpisode([], 5 * S).labels).toBe(0);
  });

  it('does not count a non-trailing phase whose own or next time is missing (as the seed)', () => {
    const got = aggregateEpisode(
      [
        { phase: 'a', t_mono_ns: 1 * S },
        { phase: 'b', t_mono_ns: 2 * S },
        // c has no time: sorts first (as 0); c→a is not counted at all.
        { phase: 'c' },
        { phase: 'd', t_mono_ns: 6 * S },
      ],
      null,
    );
    // Sorted: c(0), a(1s), b(2s), d(6s).
    expect(got).toEqual({ counts: { a: 1, b: 1, d: 1 }, seconds: { a: 1, b: 4 }, labels: 3 });
  });

  it('lets a record without a phase end the phase before it and add nothing itself', () => {
    const got = aggregateEpisode(
      [
        { phase: 'boot', t_mono_ns: 1 * S },
        { marker: 'pause', t_mono_ns: 2 * S },
        { phase: '', t_mono_ns: 3 * S },
        { phase: 'run', t_mono_ns: 7 * S },
      ],
      8 * S,
    );
    expect(got).toEqual({ counts: { boot: 1, run: 1 }, seconds: { boot: 1, run: 1 }, labels: 2 });
  });

  it('never gives a negative duration and keeps equal times in file order', () => {
    const got = aggregateEpisode(
      [
        { phase: 'x', t_mono_ns: 5 * S },
        { phase: 'y', t_mono_ns: 5 * S },
        { phase: 'z', t_mono_ns: 6 * S },
      ],
      null,
    );
    expect(got.seconds).toEqual({ x: 0, y: 1 });
  });

  it('treats non-string phases and non-number times as absent', () => {
    const got = aggregateEpisode(
      [
        { phase: 5, t_mono_ns: 1 * S },
        { phase: 'a', t_mono_ns: 2 * S },
        { phase: 'b', t_mono_ns: true },
        { phase: 'c', t_mono_ns: 4 * S },
      ],
      null,
    );
    // Sorted: b (time true sorts as 0), phase 5 @1s, a @2s, c @4s.
    expect(got).toEqual({ counts: { a: 1, c: 1 }, seconds: { a: 2 }, labels: 2 });
  });

  it('keeps a phase called __proto__ as an ordinary key', () => {
    const got = aggregateEpisode(
      [
        { phase: '__proto__', t_mono_ns: 0 },
        { phase: 'b', t_mono_ns: 1 * S },
      ],
      null,
    );
    expect(Object.keys(got.counts)).toEqual(['__proto__', 'b']);
    expect(JSON.stringify(got.seconds)).toBe('{"__proto__":1}');
  });
});

describe('labelsWithDurations', () => {
  it('lists labels in time order with the seconds each added', () => {
    const rows = labelsWithDurations(
      [
        { phase: 'b', t_mono_ns: 3 * S, extra: 1 },
        { phase: 'a', t_mono_ns: 1 * S },
        { note: 'x', t_mono_ns: 4 * S },
      ],
      null,
    );
    expect(rows).toEqual([
      { phase: 'a', t_mono_ns: 1 * S, duration_s: 2, record: { phase: 'a', t_mono_ns: 1 * S } },
      { phase: 'b', t_mono_ns: 3 * S, duration_s: 1, record: { phase: 'b', t_mono_ns: 3 * S, extra: 1 } },
      { phase: null, t_mono_ns: 4 * S, duration_s: null, record: { note: 'x', t_mono_ns: 4 * S } },
    ]);
  });
});
