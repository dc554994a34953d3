/**
 * Gives SQLite's page caches back once a thread goes idle after a burst of work (a catch-up, a
 * backlog): each connection's pages stay cached after the bulk work that filled them, so every
 * thread that opens the catalog watches its own event loop and, in the first quiet window after
 * a busy stretch, runs the release callbacks (each connection's `PRAGMA shrink_memory`). A thread
 * that stays quiet pays nothing; the cache refills on demand.
 *
 * A full garbage collection in the same window (V8 keeps a 32 MiB young generation grown during
 * a catch-up) was tried and taken out: at 1M lines its RSS 60 s after catch-up was no lower than
 * without it (212.5 vs 210 MiB, idle), and in the steady state it cost 2–4 ms of CPU per
 * snapshot cycle (`bench/steady-split.mjs`, idle: 8.8–10.3 ms with it, 6.0–7.5 without).
 */

import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/** How often a thread looks at its own event loop. */
export const IDLE_CHECK_MS = 10_000;
/**
 * A window whose event loop was busier than this is "busy"; at or below it, "quiet" (the catalog
 * writer of an idle server stays near 0.08: its periodic commits).
 */
export const IDLE_UTILIZATION = 0.25;

/** Where a thread is between checks: whether a busy window came since the last release. */
export interface IdleState {
  dirty: boolean;
}

/** The state of a thread that has just started (it starts busy: it is loading). */
export function initialIdleState(): IdleState {
  return { dirty: true };
}

/**
 * Pure: after a window with event-loop utilization `utilization`, whether to run the release
 * callbacks now; `state` is updated for the next window.
 */
export function decideIdleRelease(state: IdleState, utilization: number): boolean {
  if (utilization > IDLE_UTILIZATION) {
    state.dirty = true;
    return false;
  }
  const release = state.dirty;
  state.dirty = false;
  return release;
}

type Release = () => void;

/** This thread's watcher (one per thread: module state is per isolate). */
const releases = new Set<Release>();
let timer: NodeJS.Timeout | null = null;
let lastElu: EventLoopUtilization | null = null;
const state = initialIdleState();

/**
 * One check of this thread's event loop over the window since the last; `measured` stands in for
 * the window's utilization (tests). Returns whether it released.
 */
export function checkIdle(measured?: number): boolean {
  const previous = lastElu;
  lastElu = performance.eventLoopUtilization();
  const utilization =
    measured ?? (previous ? performance.eventLoopUtilization(lastElu, previous).utilization : 0);
  const release = decideIdleRelease(state, utilization);
  if (release) {
    for (const run of releases) {
      try {
        run();
      } catch {
        // A release is best effort (a connection closing meanwhile): the next one tries again.
      }
    }
  }
  return release;
}

/**
 * Runs `release` in this thread's first quiet window after busy ones (see the module comment);
 * the returned function unregisters it. The check timer never keeps a thread alive.
 */
export function releaseWhenIdle(release: Release): () => void {
  releases.add(release);
  if (timer === null) {
    lastElu = performance.eventLoopUtilization();
    timer = setInterval(checkIdle, IDLE_CHECK_MS);
    timer.unref();
  }
  return () => {
    releases.delete(release);
    if (releases.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}
