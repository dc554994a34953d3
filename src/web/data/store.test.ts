import { describe, expect, it } from 'vitest';
import { type DashboardEvent, emptyState, type HelloMessage } from '../../protocol/index.js';
import type { DataSource, SourceListener } from './source.js';
import { createStore } from './store.js';

function manualFrames(): { schedule: (f: () => void) => void; run(): void } {
  let queued: (() => void)[] = [];
  return {
    schedule: (f) => queued.push(f),
    run() {
      const q = queued;
      queued = [];
      for (const f of q) f();
    },
  };
}

function controllable(): { source: DataSource; listener(): SourceListener } {
  let l: SourceListener | null = null;
  return {
    source: {
      start(listener) {
        l = listener;
        return () => {};
      },
    },
    listener() {
      if (l === null) throw new Error('not started');
      return l;
    },
  };
}

const hello = (total: number, epoch = 'a'): HelloMessage => ({
  type: 'hello',
  epoch,
  seq: 10,
  state: { ...emptyState(), total_episodes: total, ready: true },
});
const episode = (seq: number, id: string): DashboardEvent => ({
  type: 'episode',
  seq,
  episode_id: id,
  host_id: 'h1',
  sha256: null,
  size_bytes: 100,
  received_at: '2026-05-08T12:00:00Z',
});

/** A store on a controllable source, counting its notifications. */
function connectedStore() {
  const frames = manualFrames();
  const store = createStore(frames.schedule);
  const src = controllable();
  store.connect(src.source);
  let count = 0;
  store.subscribe(() => count++);
  return { frames, store, src, notified: () => count };
}

describe('createStore', () => {
  it('folds a burst of events into one notification per frame', () => {
    const { frames, store, src, notified } = connectedStore();

    src.listener().hello(hello(5));
    for (let i = 0; i < 1000; i++) src.listener().event(episode(11 + i, `e${i}`));
    expect(store.get().loaded).toBe(false); // Nothing published before the frame.
    frames.run();
    expect(notified()).toBe(1);
    expect(store.get().state.total_episodes).toBe(1005);
    expect(store.get().episodeEvents).toBe(1000);
    expect(store.get().state.recent_episodes[0]?.episode_id).toBe('e999');
  });

  it('replaces (never merges) the state on a later hello', () => {
    const frames = manualFrames();
    const store = createStore(frames.schedule);
    const src = controllable();
    store.connect(src.source);
    src.listener().hello(hello(5));
    src.listener().event(episode(11, 'x'));
    frames.run();
    expect(store.get().state.total_episodes).toBe(6);
    src.listener().hello(hello(3, 'b'));
    frames.run();
    expect(store.get().state.total_episodes).toBe(3);
    expect(store.get().state.recent_episodes).toEqual([]);
    expect(store.get().helloCount).toBe(2);
  });

  it('keeps unchanged slices by reference so their widgets do not re-render', () => {
    const frames = manualFrames();
    const store = createStore(frames.schedule);
    const src = controllable();
    store.connect(src.source);
    src.listener().hello(hello(1));
    frames.run();
    const health = store.get().state.health;
    src.listener().event(episode(11, 'y'));
    frames.run();
    expect(store.get().state.health).toBe(health);
  });

  it("keeps a replica's agents from its heartbeats and re-renders only when they change", () => {
    const { frames, store, src, notified } = connectedStore();
    src.listener().hello(hello(5));
    frames.run();
    expect(store.get().agents).toBeNull();
    const up = { up: true, since: null, last_heartbeat: '2026-05-08T12:00:00.000Z' };
    const beat = (
      agents?: Record<string, typeof up | { up: boolean; since: string; last_heartbeat: string }>,
    ) =>
      src.listener().beat?.({
        type: 'heartbeat',
        at: '2026-05-08T12:00:01.000Z',
        seq: 10,
        ...(agents ? { agents } : {}),
      });
    beat({ 'rack-1': up, 'rack-2': up });
    frames.run();
    expect(store.get().agents?.['rack-2']?.up).toBe(true);
    const before = notified();
    beat({ 'rack-1': up, 'rack-2': up });
    frames.run();
    expect(notified()).toBe(before);
    beat({
      'rack-1': up,
      'rack-2': { up: false, since: '2026-05-08T12:00:20.000Z', last_heartbeat: up.last_heartbeat },
    });
    frames.run();
    expect(notified()).toBe(before + 1);
    expect(store.get().agents?.['rack-2']?.up).toBe(false);
    // A single box's heartbeats carry none.
    beat();
    frames.run();
    expect(store.get().agents).toBeNull();
  });
});
