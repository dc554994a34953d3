import { describe, expect, it } from 'vitest';
import { emptyState } from '../protocol/index.js';
import { seedFromSnapshot } from '../replica/replica.js';
import { ownEvent, ownReceiverState, receiverStateOf } from './snapshot.js';

describe('a receiver snapshot under its own host ids', () => {
  const indexed = { episodes: 2, bytes: 10, last_received_at: '2026-12-07T06:00:00.000Z' };

  it('reads a snapshot an earlier agent stored under `<receiver>/<host>` as its own, so a replica prefixes it once', () => {
    const old = { hosts_indexed: { 'rack-a/host-01': indexed }, host_counts: { 'rack-a/host-01': 3 } };
    expect(ownReceiverState(old, 'rack-a')).toEqual({
      hosts_indexed: { 'host-01': indexed },
      host_counts: { 'host-01': 3 },
    });
    const seeded = seedFromSnapshot({ ...emptyState(), receivers: {} }, 'rack-a', old);
    expect(Object.keys(seeded.hosts_indexed)).toEqual(['rack-a/host-01']);
    expect(Object.keys(seeded.host_counts)).toEqual(['rack-a/host-01']);
  });

  it('leaves a snapshot already under its own ids, and another receiver’s prefix, as they are', () => {
    const own = { hosts_indexed: { 'host-01': indexed, 'rack-b/x': indexed } };
    expect(ownReceiverState(own, 'rack-a')).toEqual(own);
  });

  it('seeds the receiver as ready or not as its agent was when it wrote the snapshot (ready when an earlier agent did not say)', () => {
    const base = { ...emptyState(), receivers: {} };
    // An agent still in its first pass writes its state (ready: false) into the snapshot.
    const catchingUp = receiverStateOf({ ...emptyState(), ready: false });
    expect(seedFromSnapshot(base, 'rack-a', catchingUp).receivers?.['rack-a']?.ready).toBe(false);
    const caughtUp = receiverStateOf({ ...emptyState(), ready: true });
    expect(seedFromSnapshot(base, 'rack-a', caughtUp).receivers?.['rack-a']?.ready).toBe(true);
    expect(seedFromSnapshot(base, 'rack-a', {}).receivers?.['rack-a']?.ready).toBe(true);
  });

  it('takes the receiver off an event for the receiver’s own state', () => {
    expect(ownEvent({ type: 'health', host_id: 'h', health: null, receiver: 'rack-a' })).toEqual({
      type: 'health',
      host_id: 'h',
      health: null,
    });
  });
});
