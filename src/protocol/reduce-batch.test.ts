import { describe, expect, it } from 'vitest';
import { type DashboardEvent, type DashboardState, emptyState, RECENT_LIMIT } from './index.js';
import { applyEvent, applyEvents } from './reduce.js';

/** A deterministic mix of events: runs of episodes and alerts from several receivers, broken by others. */
function events(n: number, seed: number): DashboardEvent[] {
  let x = seed;
  const rand = (k: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % k;
  };
  const out: DashboardEvent[] = [];
  const receivers = [undefined, 'r1', 'r2', '__proto__'];
  for (let seq = 1; seq <= n; seq++) {
    const receiver = receivers[rand(receivers.length)];
    const r = receiver === undefined ? {} : { receiver };
    const host = ['h1', 'h2', 'constructor', '__proto__'][rand(4)] as string;
    const pick = rand(10);
    if (pick < 6) {
      const received = rand(5) === 0 ? null : `2026-12-0${1 + rand(5)}T00:00:0${rand(10)}Z`;
      out.push({
        type: 'episode',
        seq,
        episode_id: `e${seq}`,
        host_id: host,
        sha256: null,
        size_bytes: rand(4) === 0 ? null : rand(1000),
        received_at: received,
        ...r,
      });
    } else if (pick < 9) {
      out.push({
        type: 'alert',
        seq,
        host_id: rand(4) === 0 ? null : host,
        symptom: 's',
        detail: 'd',
        suggested_fix: 'f',
        detected_at: null,
        dedup_key: `k${rand(3)}`,
        ...r,
      });
    } else {
      out.push({ type: 'host_disk', seq, host_id: host, files: rand(3), bytes: rand(3) * 10, ...r });
    }
  }
  return out;
}

const fold = (state: DashboardState, list: readonly DashboardEvent[]) => list.reduce(applyEvent, state);

describe('applyEvents (a batch of events folded at once)', () => {
  it('gives the state applyEvent gives over each event in turn, in every batch split', () => {
    for (const seed of [1, 2, 3]) {
      const list = events(3 * RECENT_LIMIT, seed);
      const want = fold(emptyState(), list);
      expect(applyEvents(emptyState(), list)).toEqual(want);
      // The same in uneven slices, each starting from the previous slice's state.
      let state = emptyState();
      for (let i = 0; i < list.length; i += 37 + seed)
        state = applyEvents(state, list.slice(i, i + 37 + seed));
      expect(state).toEqual(want);
      // Host keys such as `__proto__` stay own data keys, as applyEvent keeps them.
      expect(Object.keys(state.hosts_indexed).sort()).toEqual(Object.keys(want.hosts_indexed).sort());
      expect(Object.getPrototypeOf(state.hosts_indexed)).toBe(Object.getPrototypeOf(want.hosts_indexed));
    }
  });

  it('leaves the state it was given untouched and shares what the batch did not change', () => {
    const before = fold(emptyState(), events(50, 7));
    const copy = structuredClone(before);
    const after = applyEvents(
      before,
      events(20, 8).filter((e) => e.type === 'episode'),
    );
    expect(before).toEqual(copy);
    expect(after.host_last_alert).toBe(before.host_last_alert);
    expect(after.recent_alerts).toBe(before.recent_alerts);
    expect(after.total_episodes).toBeGreaterThan(before.total_episodes);
  });
});
