import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { receiversOf } from '../../protocol/receiver-view.js';
import { hostLabeller, snapshotOfReceiver, useReceiver } from './receiver.js';
import type { Store, StoreSnapshot } from './store.js';

export const StoreContext = createContext<Store | null>(null);

function useStoreInstance(): Store {
  const store = useContext(StoreContext);
  if (store === null) throw new Error('useStore outside <StoreContext.Provider>');
  return store;
}

/**
 * Reads one slice of the store, as the picked receiver sees it (`?receiver=`; the whole state when
 * none is picked). The component re-renders only when the slice changes by reference; the reducer
 * shares untouched fields, so e.g. `s => s.state.health` stays put while episodes stream in (with
 * a receiver picked, every slice is recomputed once per state).
 */
export function useStore<T>(selector: (s: StoreSnapshot) => T): T {
  const receiver = useReceiver();
  return useWholeStore((s) => selector(snapshotOfReceiver(s, receiver)));
}

/** Reads one slice of the whole store, whatever receiver is picked (the picker itself, host labels). */
export function useWholeStore<T>(selector: (s: StoreSnapshot) => T): T {
  const store = useStoreInstance();
  const get = (): T => selector(store.get());
  return useSyncExternalStore(store.subscribe, get, get);
}

/** Every receiver the state knows of (empty on a single box). */
export function useReceivers(): string[] {
  const recentEpisodes = useWholeStore((s) => s.state.recent_episodes);
  const recentAlerts = useWholeStore((s) => s.state.recent_alerts);
  const hostsIndexed = useWholeStore((s) => s.state.hosts_indexed);
  const hostCounts = useWholeStore((s) => s.state.host_counts);
  const health = useWholeStore((s) => s.state.health);
  const lastAlert = useWholeStore((s) => s.state.host_last_alert);
  const parts = useWholeStore((s) => s.state.receivers);
  const list = useMemo(
    () =>
      receiversOf({
        recent_episodes: recentEpisodes,
        recent_alerts: recentAlerts,
        hosts_indexed: hostsIndexed,
        host_counts: hostCounts,
        health,
        host_last_alert: lastAlert,
        receivers: parts,
      }),
    [recentEpisodes, recentAlerts, hostsIndexed, hostCounts, health, lastAlert, parts],
  );
  // The same array while the names stay the same: the picker does not re-render per event.
  const names = list.join('\n');
  return useMemo(() => (names === '' ? [] : names.split('\n')), [names]);
}

/** How a host key is shown: `host-a`, or `host-a · rack-2` where two receivers share the name. */
export function useHostLabel(): (key: string) => string {
  const hostsIndexed = useWholeStore((s) => s.state.hosts_indexed);
  const hostCounts = useWholeStore((s) => s.state.host_counts);
  const health = useWholeStore((s) => s.state.health);
  const lastAlert = useWholeStore((s) => s.state.host_last_alert);
  return useMemo(
    () =>
      hostLabeller({
        hosts_indexed: hostsIndexed,
        host_counts: hostCounts,
        health,
        host_last_alert: lastAlert,
      }),
    [hostsIndexed, hostCounts, health, lastAlert],
  );
}

/** The current time, refreshed every `everyMs` (relative times like "3 min ago" must move). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
