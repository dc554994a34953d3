import { describe, expect, it } from 'vitest';
import { type DashboardEvent, emptyState } from '../../protocol/index.js';
import { applyEvent } from '../../protocol/reduce.js';
import { hostRows } from '../scenes/hosts/hosts.js';
import { hostLabeller, pickedReceiver, snapshotOfReceiver, withReceiver } from './receiver.js';
import type { StoreSnapshot } from './store.js';

const episode = (seq: number, host_id: string, receiver: string): DashboardEvent => ({
  type: 'episode',
  seq,
  episode_id: `e${seq}`,
  host_id,
  sha256: null,
  size_bytes: 1,
  received_at: new Date().toISOString(),
  receiver,
});

const state = [
  episode(1, 'host-a', 'rack-1'),
  episode(2, 'host-a', 'rack-2'),
  episode(3, 'host-b', 'rack-2'),
].reduce(applyEvent, emptyState());

describe('the receiver in the URL', () => {
  it('is read from the page query, and only a valid receiver name', () => {
    expect(pickedReceiver('?kiosk&receiver=rack-2')).toBe('rack-2');
    expect(pickedReceiver('?receiver=a%2Fb')).toBeNull();
    expect(pickedReceiver('')).toBeNull();
  });

  it('is added to API list requests only', () => {
    expect(withReceiver('/api/episodes?host=a&limit=1', 'rack-2')).toBe(
      '/api/episodes?host=a&limit=1&receiver=rack-2',
    );
    expect(withReceiver('/api/episodes/facets?host=a', 'rack-2')).toBe(
      '/api/episodes/facets?host=a&receiver=rack-2',
    );
    expect(withReceiver('/api/alerts/lifecycle', 'rack-2')).toBe('/api/alerts/lifecycle');
    // An explicit receiver (a host page's) wins; a detail by id is not a list.
    expect(withReceiver('/api/episodes?receiver=rack-1', 'rack-2')).toBe('/api/episodes?receiver=rack-1');
    expect(withReceiver('/api/episodes/e1', 'rack-2')).toBe('/api/episodes/e1');
    expect(withReceiver('/api/episodes?limit=1', null)).toBe('/api/episodes?limit=1');
  });
});

describe('the store as one receiver sees it', () => {
  const snapshot: StoreSnapshot = {
    state,
    status: { kind: 'connecting', since: 0 },
    loaded: true,
    episodeEvents: 3,
    alertEvents: 0,
    helloCount: 1,
    agents: null,
  };

  it('is the same object for the same snapshot and receiver (no re-render without a change)', () => {
    const a = snapshotOfReceiver(snapshot, 'rack-2');
    expect(snapshotOfReceiver(snapshot, 'rack-2')).toBe(a);
    expect(a.state.total_episodes).toBe(2);
    expect(snapshotOfReceiver(snapshot, null)).toBe(snapshot);
  });

  it('gives two host rows for two receivers’ host-a, labelled with their receiver', () => {
    const rows = hostRows(state, Date.now());
    const label = hostLabeller(state);
    expect(rows.map((r) => [r.key, r.host_id, r.receiver, label(r.key)])).toEqual([
      ['rack-1/host-a', 'host-a', 'rack-1', 'host-a · rack-1'],
      ['rack-2/host-a', 'host-a', 'rack-2', 'host-a · rack-2'],
      ['rack-2/host-b', 'host-b', 'rack-2', 'host-b'],
    ]);
    expect(hostRows(snapshotOfReceiver(snapshot, 'rack-1').state, Date.now()).map((r) => r.key)).toEqual([
      'rack-1/host-a',
    ]);
  });
});
