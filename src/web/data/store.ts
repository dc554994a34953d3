import {
  type AgentStatus,
  type DashboardEvent,
  type DashboardState,
  emptyState,
} from '../../protocol/index.js';
import { applyEvent, stateFromHello } from '../../protocol/reduce.js';
import type { ConnectionStatus, DataSource } from './source.js';

/** What the scenes read: the server's state plus what the client knows about the connection. */
export interface StoreSnapshot {
  state: DashboardState;
  status: ConnectionStatus;
  /** True once the first hello arrived (before that, scenes show "loading", not zeros). */
  loaded: boolean;
  /** Counts of live events since the page loaded; scenes that query the API refetch when they move. */
  episodeEvents: number;
  alertEvents: number;
  /** Bumped by every hello: a reset means API-backed scenes must refetch too. */
  helloCount: number;
  /** A replica's receivers' agents, from its heartbeats (null: a single box, or none heard yet). */
  agents: Record<string, AgentStatus> | null;
}

/** Runs `flush` once on the next frame (or soon, when the page is hidden and frames stop). */
export type FrameScheduler = (flush: () => void) => void;

export const animationFrameScheduler: FrameScheduler = (flush) => {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    flush();
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
  // Hidden tabs get no frames; a wall display behind another window must still catch up.
  setTimeout(once, 250);
};

export interface Store {
  get(): StoreSnapshot;
  subscribe(listener: () => void): () => void;
  /** Connects the data source; returns the function that disconnects it. */
  connect(source: DataSource): () => void;
}

/**
 * The client store. Events are folded into a pending snapshot immediately (with the same pure
 * reducer as the server's bus) but subscribers hear about them at most once per animation frame,
 * so a burst of a thousand events re-renders each widget once.
 */
export function createStore(schedule: FrameScheduler = animationFrameScheduler): Store {
  let current: StoreSnapshot = {
    state: emptyState(),
    status: { kind: 'connecting', since: Date.now() },
    loaded: false,
    episodeEvents: 0,
    alertEvents: 0,
    helloCount: 0,
    agents: null,
  };
  let pending: StoreSnapshot | null = null;
  const listeners = new Set<() => void>();

  const flush = (): void => {
    if (pending === null) return;
    current = pending;
    pending = null;
    for (const listener of listeners) listener();
  };
  const update = (change: (s: StoreSnapshot) => StoreSnapshot): void => {
    const first = pending === null;
    pending = change(pending ?? current);
    if (first) schedule(flush);
  };

  return {
    get: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connect(source) {
      return source.start({
        hello: (message) =>
          update((s) => ({
            ...s,
            state: stateFromHello(message),
            loaded: true,
            helloCount: s.helloCount + 1,
          })),
        event: (event: DashboardEvent) =>
          update((s) => ({
            ...s,
            state: applyEvent(s.state, event),
            episodeEvents: s.episodeEvents + (event.type === 'episode' ? 1 : 0),
            alertEvents: s.alertEvents + (event.type === 'alert' ? 1 : 0),
          })),
        status: (status) => update((s) => ({ ...s, status })),
        beat: (message) => {
          const agents = message.agents ?? null;
          // Every 2 s: a beat that changes nothing re-renders nothing (an up agent's last_heartbeat
          // moves with each of its writes, so about every other one does; only the banners read it).
          if (JSON.stringify(agents) === JSON.stringify((pending ?? current).agents)) return;
          update((s) => ({ ...s, agents }));
        },
      });
    },
  };
}
