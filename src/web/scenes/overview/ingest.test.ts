import { describe, expect, it } from 'vitest';
import { bucketLabel, ingestSeries, receivedMs } from './ingest.js';

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
