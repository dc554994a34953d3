import { describe, expect, it } from 'vitest';
import { type DashboardEvent, type DashboardState, emptyState, type Snapshot } from './index.js';
import { applyEvent } from './reduce.js';

const episode = (receiver: string | undefined, id: string, host: string, size: number): DashboardEvent => ({
  type: 'episode',
  seq: 0,
  episode_id: id,
  host_id: host,
  sha256: null,
  size_bytes: size,
  received_at: `2026-12-04T00:00:0${id.length % 10}Z`,
  ...(receiver === undefined ? {} : { receiver }),
});

function snapshot(receiver: string, total: number, hosts: Record<string, number>): DashboardEvent {
  const s: Snapshot = {
    ...emptyState(),
    total_episodes: total,
    total_bytes: total * 10,
    hosts_indexed: Object.fromEntries(
      Object.entries(hosts).map(([h, n]) => [h, { episodes: n, bytes: n * 10, last_received_at: null }]),
    ),
    ready: true,
  };
  return { type: 'snapshot', seq: 0, receiver, ...s };
}

const fold = (events: DashboardEvent[], state: DashboardState = emptyState()) =>
  events.reduce(applyEvent, state);

describe('the reducer over several receivers', () => {
  it('keys hosts by receiver when the event names one; a single box is unchanged', () => {
    const single = fold([episode(undefined, 'e1', 'h', 5)]);
    expect(Object.keys(single.hosts_indexed)).toEqual(['h']);
    expect(single.receivers).toBeUndefined();
    const two = fold([episode('r1', 'e1', 'h', 5), episode('r2', 'e1', 'h', 7)]);
    expect(two.hosts_indexed).toMatchObject({
      'r1/h': { episodes: 1, bytes: 5 },
      'r2/h': { episodes: 1, bytes: 7 },
    });
    expect([two.total_episodes, two.total_bytes]).toEqual([2, 12]);
    expect(two.receivers?.r1?.total_episodes).toBe(1);
  });

  it("a receiver's snapshot replaces its own part of the sums and keys, no other receiver's", () => {
    const state = fold([
      snapshot('r1', 10, { a: 10 }),
      snapshot('r2', 5, { a: 2, b: 3 }),
      episode('r1', 'e11', 'a', 1),
      episode('r2', 'e6', 'c', 1),
      // r1's next snapshot already counts e11 (and one more).
      snapshot('r1', 12, { a: 11, z: 1 }),
    ]);
    expect(state.total_episodes).toBe(12 + 6);
    expect(Object.keys(state.hosts_indexed).sort()).toEqual(['r1/a', 'r1/z', 'r2/a', 'r2/b', 'r2/c']);
    expect(state.receivers?.r2?.total_episodes).toBe(6);
    expect(state.ready).toBe(true);
    expect(fold([{ type: 'ready', seq: 0, ready: false, receiver: 'r2' }], state).ready).toBe(false);
  });
});
