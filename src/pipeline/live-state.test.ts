import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bus } from '../bus/bus.js';
import { emptyState, type IntegrityCounts } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { LiveProjection } from './live-projection.js';
import { LiveState } from './live-state.js';

/** A live state over an empty projection, its integrity counts from `count` (which may throw). */
function liveState(count: () => IntegrityCounts) {
  const stored = {
    total_episodes: 0,
    total_bytes: 0,
    total_alerts: 0,
    duplicate_lines: 0,
    hosts_indexed: {},
    recent_episodes: [],
    recent_alerts: [],
    host_last_alert: {},
    checkpoints: {},
  };
  let state: LiveState | null = null;
  const live = new LiveProjection(
    stored,
    (events) => bus.publishAll(events),
    () => state?.scheduleBulkSnapshot(),
  );
  const bus = new Bus({ initialState: emptyState() });
  const errors: unknown[] = [];
  state = new LiveState({
    bus,
    live,
    disk: () => ({}),
    integrity: count,
    reportError: (err) => {
      errors.push(err);
      return true;
    },
    logger: silentLogger(),
    snapshotInterval: 30,
  });
  return { state, bus, errors };
}

const counts = (corrupt: number): IntegrityCounts => ({
  total: { ok: 5, ...(corrupt > 0 ? { corrupt } : {}) },
  hosts: { h1: { ok: 5, ...(corrupt > 0 ? { corrupt } : {}) } },
});

describe('LiveState: integrity counts on the wall', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("publishes a host's new corrupt count within a second of the verifier's counts, and nothing for other changes", () => {
    vi.useFakeTimers();
    let now = counts(0);
    const { state, bus } = liveState(() => now);
    state.markReady();
    const published = () => bus.state.integrity;
    expect(published()?.hosts.h1?.corrupt).toBeUndefined();
    now = counts(1);
    state.integrityCounted();
    vi.advanceTimersByTime(1000);
    expect(published()?.hosts.h1?.corrupt).toBe(1);
    const seq = bus.seq;
    now = { total: { ok: 6, corrupt: 1 }, hosts: { h1: { ok: 6, corrupt: 1 } } };
    state.integrityCounted();
    vi.advanceTimersByTime(1000);
    expect(bus.seq).toBe(seq); // ok 5 → 6 waits for the periodic snapshot
    state.stop();
  });

  it('keeps the last counts when counting fails at that look: the wall does not lose its corrupt hosts', () => {
    vi.useFakeTimers();
    let fail = false;
    const { state, bus, errors } = liveState(() => {
      if (fail) throw new Error('SQLITE_BUSY: database is locked');
      return counts(1);
    });
    state.start();
    state.markReady();
    expect(bus.state.integrity?.hosts.h1?.corrupt).toBe(1);
    fail = true;
    state.integrityCounted();
    vi.advanceTimersByTime(1000);
    expect(errors.length).toBeGreaterThan(0);
    // The next periodic snapshot (30 s) fails to count too: it still says what was last known.
    vi.advanceTimersByTime(30_000);
    expect(state.snapshot().integrity?.hosts.h1?.corrupt).toBe(1);
    expect(bus.state.integrity?.hosts.h1?.corrupt).toBe(1);
    state.stop();
  });
});
