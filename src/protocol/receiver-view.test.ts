import { describe, expect, it } from 'vitest';
import { type DashboardEvent, emptyState, type UnsequencedEvent } from './index.js';
import { hostLabel, hostNameCounts, hostRef, receiversOf, stateOfReceiver } from './receiver-view.js';
import { hostKey } from './receivers.js';
import { applyEvent } from './reduce.js';

let seq = 0;
const ev = (e: UnsequencedEvent): DashboardEvent => ({ ...e, seq: ++seq }) as DashboardEvent;
const episode = (id: string, host_id: string, receiver: string | undefined, size: number): DashboardEvent =>
  ev({
    type: 'episode',
    episode_id: id,
    host_id,
    sha256: null,
    size_bytes: size,
    received_at: '2026-12-04T10:00:00.000Z',
    ...(receiver ? { receiver } : {}),
  });

function fold(events: DashboardEvent[]) {
  return events.reduce(applyEvent, emptyState());
}

describe('host keys', () => {
  it('are the plain host id on a single box and split back in a cluster', () => {
    expect(hostKey(undefined, 'host-a')).toBe('host-a');
    expect(hostKey('rack-2', 'host-a')).toBe('rack-2/host-a');
    expect(hostRef('rack-2/host-a')).toEqual({ host_id: 'host-a', receiver: 'rack-2' });
    expect(hostRef('host-a')).toEqual({ host_id: 'host-a', receiver: null });
    // A host id with a slash after its receiver stays whole.
    expect(hostRef(hostKey('r1', 'a/b'))).toEqual({ host_id: 'a/b', receiver: 'r1' });
  });

  it('keep two receivers’ hosts of the same name apart in the reduced state', () => {
    const state = fold([
      episode('e1', 'host-a', 'rack-1', 100),
      episode('e2', 'host-a', 'rack-2', 10),
      episode('e3', 'host-a', 'rack-2', 1),
      ev({ type: 'host_disk', host_id: 'host-a', receiver: 'rack-1', files: 1, bytes: 100 }),
      ev({ type: 'host_disk', host_id: 'host-a', receiver: 'rack-2', files: 2, bytes: 11 }),
      ev({
        type: 'health',
        host_id: 'host-a',
        receiver: 'rack-2',
        health: { host_id: 'host-a', read_at: 'x', file_mtime: 'x', data: {} },
      }),
      ev({
        type: 'alert',
        host_id: 'host-a',
        receiver: 'rack-1',
        symptom: 'disk_low',
        detail: null,
        suggested_fix: null,
        detected_at: null,
        dedup_key: 'k',
      }),
    ]);
    expect(state.total_episodes).toBe(3);
    expect(state.total_bytes).toBe(111);
    expect(state.hosts_indexed['rack-1/host-a']?.episodes).toBe(1);
    expect(state.hosts_indexed['rack-2/host-a']?.episodes).toBe(2);
    expect(state.host_counts).toEqual({ 'rack-1/host-a': 1, 'rack-2/host-a': 2 });
    expect(Object.keys(state.health)).toEqual(['rack-2/host-a']);
    expect(Object.keys(state.host_last_alert)).toEqual(['rack-1/host-a']);
    expect(receiversOf(state)).toEqual(['rack-1', 'rack-2']);
  });

  it('leave a single box exactly as before (no receiver, no picker)', () => {
    const state = fold([episode('e1', 'host-a', undefined, 5)]);
    expect(Object.keys(state.hosts_indexed)).toEqual(['host-a']);
    expect(receiversOf(state)).toEqual([]);
    expect(stateOfReceiver(state, null)).toBe(state);
  });

  it('label a host with its receiver only where another receiver shares its name', () => {
    const keys = ['rack-1/host-a', 'rack-2/host-a', 'rack-2/host-b'];
    const counts = hostNameCounts(keys);
    expect(keys.map((k) => hostLabel(k, counts))).toEqual(['host-a · rack-1', 'host-a · rack-2', 'host-b']);
  });
});

describe('stateOfReceiver', () => {
  it('keeps one receiver’s hosts, records and totals', () => {
    const state = fold([
      episode('e1', 'host-a', 'rack-1', 100),
      episode('e2', 'host-a', 'rack-2', 10),
      episode('e3', 'host-b', 'rack-2', 1),
      ev({ type: 'phase', host_id: 'host-b', episode_id: null, phase: 'warmup', at: 'x' }),
      ev({ type: 'phase', host_id: 'host-z', episode_id: null, phase: 'warmup', at: 'x' }),
    ]);
    const two = stateOfReceiver(state, 'rack-2');
    expect(two.total_episodes).toBe(2);
    expect(two.total_bytes).toBe(11);
    expect(Object.keys(two.hosts_indexed).sort()).toEqual(['rack-2/host-a', 'rack-2/host-b']);
    expect(two.recent_episodes.map((e) => e.episode_id)).toEqual(['e3', 'e2']);
    expect(Object.keys(two.live_phases)).toEqual(['host-b']);
    // The replica's per-receiver parts give exact totals, alerts included.
    expect(two.receivers?.['rack-2']?.total_episodes).toBe(2);
    const one = stateOfReceiver(state, 'rack-1');
    expect(one.total_episodes).toBe(1);
    expect(Object.keys(one.live_phases)).toEqual([]);
  });

  it('sums the phase mix of the receiver’s hosts', () => {
    const totals = (n: number) => ({
      counts: { warmup: n },
      weighted_seconds: { warmup: n * 10 },
      sampled_episodes: n,
      total_labels: n,
      population_episodes: n,
    });
    const state = {
      ...emptyState(),
      phase_mix: {
        ...totals(7),
        per_host: { 'rack-1/host-a': totals(1), 'rack-2/host-a': totals(2), 'rack-2/host-b': totals(4) },
        skipped: {},
        computed_at: 'x',
        mode: 'all' as const,
      },
    };
    const mix = stateOfReceiver(state, 'rack-2').phase_mix;
    expect(mix?.counts).toEqual({ warmup: 6 });
    expect(mix?.weighted_seconds).toEqual({ warmup: 60 });
    expect(mix?.population_episodes).toBe(6);
    expect(Object.keys(mix?.per_host ?? {})).toEqual(['rack-2/host-a', 'rack-2/host-b']);
  });
});
