import { describe, expect, it } from 'vitest';
import { bucketLabel, ingestSeries, receivedMs, timesInRange } from './ingest.js';

const ms = (times: (string | null)[]): number[] =>
  times.map(receivedMs).filter((t): t is number => t !== null);

describe('ingestSeries', () => {
  it('counts episodes per bucket, gaps included, over the span of the data', () => {
    const s = ingestSeries(
      ms(['2026-05-08T12:00:10Z', '2026-05-08T12:00:50Z', '2026-05-08T12:03:00Z', null, 'not a time']),
    );
    expect(s.bucketSeconds).toBe(60);
    expect(s.y).toEqual([2, 0, 0, 1]);
    expect(s.x[0]).toBe(Date.parse('2026-05-08T12:00:00Z') / 1000);
  });

  it('widens the bucket to stay under the point budget', () => {
    const s = ingestSeries(ms(['2026-05-01T00:00:00Z', '2026-05-08T00:00:00Z']), 120);
    expect(s.bucketSeconds).toBe(6 * 3600);
    expect(s.y.reduce((a, b) => a + b, 0)).toBe(2);
    expect(bucketLabel(s.bucketSeconds)).toBe('6 h');
  });

  it('is empty without times', () => {
    expect(ingestSeries([]).x).toEqual([]);
  });
});

describe('timesInRange', () => {
  const now = Date.UTC(2026, 11, 7, 6, 0, 0);
  it('keeps an episode that arrived since the chart read the clock, not counted as outside the range', () => {
    // The chart reads the clock every 30 s: an episode from 20 s after that is the newest, not bad data.
    const { kept, outside } = timesInRange([now - 3_600_000, now - 1000, now + 20_000], 'all', now);
    expect(kept).toEqual([now - 3_600_000, now - 1000, now + 20_000]);
    expect(outside).toBe(0);
  });
  it('leaves out and counts times before 2000, dated in the future, or before the range', () => {
    const times = [Date.UTC(1, 0, 1), now + 365 * 86_400_000, now - 2 * 3_600_000, now - 60_000];
    expect(timesInRange(times, 'all', now)).toEqual({
      kept: [now - 2 * 3_600_000, now - 60_000],
      outside: 2,
    });
    expect(timesInRange(times, '1h', now)).toEqual({ kept: [now - 60_000], outside: 3 });
  });
});
