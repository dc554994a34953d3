import { describe, expect, it } from 'vitest';
import type { EpisodeRecord } from '../protocol/index.js';
import { RECENT_LIMIT } from '../protocol/index.js';
import { IndexAggregates } from './index-aggregates.js';

const rec = (i: number): EpisodeRecord => ({
  episode_id: `ep-${i}`,
  host_id: 'h',
  sha256: null,
  size_bytes: null,
  received_at: null,
});

describe('IndexAggregates recent window', () => {
  it('reads the same whether batches were pushed at once or to be parsed later', () => {
    // Batch sizes around the window: small ones pile up, a full one drops all before it.
    const sizes = [3, 150, RECENT_LIMIT, 7, 0, 120, RECENT_LIMIT + 50, 1, 60, 199, 2];
    let next = 0;
    const batches = sizes.map((n) => Array.from({ length: n }, () => rec(next++)));
    const now = new IndexAggregates();
    const later = new IndexAggregates();
    let loads = 0;
    batches.forEach((batch, k) => {
      now.pushRecent(batch);
      // Every third batch at once, the others later (at most RECENT_LIMIT records, as recentLater gives).
      const last = batch.slice(-RECENT_LIMIT);
      if (k % 3 === 0) later.pushRecent(batch);
      else
        later.pushRecentLater(last.length, () => {
          loads++;
          return last;
        });
      if (k === 4) expect(later.recent).toEqual(now.recent);
    });
    expect(later.recent).toEqual(now.recent);
    expect(later.snapshotFields().recent_episodes).toEqual(now.recent);
    expect(now.recent[0]?.episode_id).toBe(`ep-${next - 1}`);
    // Batches a full one followed before any read were never parsed.
    expect(loads).toBeLessThan(sizes.filter((n) => n > 0).length - Math.ceil(sizes.length / 3));
  });
});
