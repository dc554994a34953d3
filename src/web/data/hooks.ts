import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { Store, StoreSnapshot } from './store.js';

export const StoreContext = createContext<Store | null>(null);

function useStoreInstance(): Store {
  const store = useContext(StoreContext);
  if (store === null) throw new Error('useStore outside <StoreContext.Provider>');
  return store;
}

/**
 * Reads one slice of the store. The component re-renders only when the slice changes by
 * reference; the reducer shares untouched fields, so e.g. `s => s.state.health` stays put while
 * episodes stream in.
 */
export function useStore<T>(selector: (s: StoreSnapshot) => T): T {
  const store = useStoreInstance();
  const get = (): T => selector(store.get());
  return useSyncExternalStore(store.subscribe, get, get);
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
