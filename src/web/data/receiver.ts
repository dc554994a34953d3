/**
 * The receiver picker's choice (scale-out: several receivers in one view). It lives in the page's
 * query, `?receiver=rack-2`, beside `?kiosk` and `?token`, so every scene's hash link keeps it
 * and a wall display can be pinned to one receiver (`/?kiosk&receiver=rack-2`). Scenes read the
 * store through it (`useStore` hands them `stateOfReceiver`), and list requests to the API carry
 * it as `receiver=`.
 */
import { useSyncExternalStore } from 'react';
import type { DashboardState } from '../../protocol/index.js';
import { hostLabel, hostNameCounts, stateOfReceiver } from '../../protocol/receiver-view.js';
import type { StoreSnapshot } from './store.js';

const RECEIVER = /^[A-Za-z0-9._-]{1,64}$/;
const CHANGED = 'cis490:receiver';

/** The receiver picked in the page's query; null: all of them (and always on a single box). */
export function pickedReceiver(search: string = globalThis.location?.search ?? ''): string | null {
  const value = new URLSearchParams(search).get('receiver');
  return value !== null && RECEIVER.test(value) ? value : null;
}

/** Picks a receiver (null: all) in the URL, without a reload or a history step. */
export function pickReceiver(receiver: string | null): void {
  const params = new URLSearchParams(location.search);
  if (receiver === null) params.delete('receiver');
  else params.set('receiver', receiver);
  const query = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  dispatchEvent(new Event(CHANGED));
}

function subscribe(listener: () => void): () => void {
  addEventListener(CHANGED, listener);
  addEventListener('popstate', listener);
  return () => {
    removeEventListener(CHANGED, listener);
    removeEventListener('popstate', listener);
  };
}

export function useReceiver(): string | null {
  return useSyncExternalStore(
    subscribe,
    () => pickedReceiver(),
    () => null,
  );
}

/**
 * The API lists a replica filters by `receiver=` (an episode's detail and download are found by
 * id; alert groups carry their receiver and are narrowed here, see `useAlertLifecycle`).
 */
const LISTS = new Set(['/api/episodes', '/api/episodes/facets']);

/** `path` with the picked receiver added when it is an API list and a receiver is picked. */
export function withReceiver(path: string, receiver: string | null = pickedReceiver()): string {
  if (receiver === null) return path;
  const q = path.indexOf('?');
  const base = q === -1 ? path : path.slice(0, q);
  if (!LISTS.has(base)) return path;
  const params = new URLSearchParams(q === -1 ? '' : path.slice(q + 1));
  if (params.has('receiver')) return path;
  params.set('receiver', receiver);
  return `${base}?${params}`;
}

const views = new WeakMap<StoreSnapshot, { receiver: string; view: StoreSnapshot }>();

/** The store as one receiver sees it (the snapshot itself for null), the same object for the same inputs. */
export function snapshotOfReceiver(snapshot: StoreSnapshot, receiver: string | null): StoreSnapshot {
  if (receiver === null) return snapshot;
  const memo = views.get(snapshot);
  if (memo?.receiver === receiver) return memo.view;
  const view = { ...snapshot, state: stateOfReceiver(snapshot.state, receiver) };
  views.set(snapshot, { receiver, view });
  return view;
}

/**
 * How each host key of the (whole, unfiltered) state is shown: `host-a`, or `host-a · rack-2`
 * where two receivers have a host of that name. Keys the state does not hold show their host id.
 */
export function hostLabeller(
  state: Pick<DashboardState, 'hosts_indexed' | 'host_counts' | 'health' | 'host_last_alert'>,
): (key: string) => string {
  const counts = hostNameCounts([
    ...Object.keys(state.hosts_indexed),
    ...Object.keys(state.host_counts),
    ...Object.keys(state.health),
    ...Object.keys(state.host_last_alert),
  ]);
  return (key: string): string => hostLabel(key, counts);
}
