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

describe('createStore', () => {
  it('folds a burst of events into one notification per frame', () => {
    const frames = manualFrames();
    const store = createStore(frames.schedule);
    const src = controllable();
    store.connect(src.source);
    let notified = 0;
    store.subscribe(() => notified++);

    src.listener().hello(hello(5));
    for (let i = 0; i < 1000; i++) src.listener().event(episode(11 + i, `e${i}`));
    expect(store.get().loaded).toBe(false); // Nothing published before the frame.
    frames.run();
    expect(notified).toBe(1);
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
});
