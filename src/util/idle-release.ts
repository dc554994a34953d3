/**
 * Gives memory back once a thread goes idle after a burst of work (a catch-up, a backlog).
 *
 * V8 grows a thread's young generation to 32 MiB (two 16 MiB semi-spaces) under a high
 * allocation rate and keeps it at that size until a garbage collection runs while the rate is
 * low; an idle server allocates too little to ever trigger one. Measured on a 1,000,000-line
 * cold start: the main thread and the catalog writer each held 32 MiB of young generation 30 s
 * after catch-up, 5–11 MiB of it in use. SQLite page caches likewise keep their pages after the
 * bulk work that filled them. So every thread that opens the catalog watches its own event loop:
 * after a busy stretch, the first quiet window runs the release callbacks (each connection's
 * `PRAGMA shrink_memory`) and, while the young generation is still large, a full collection
 * (V8 then shrinks the young generation to its minimum, as its own memory reducer would). A
 * thread that stays quiet, with a small young generation, pays nothing.
 */

import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

/** How often a thread looks at its own event loop. */
export const IDLE_CHECK_MS = 10_000;
/**
 * A window whose event loop was busier than this is "busy"; at or below it, "quiet" (the catalog
 * writer of an idle server stays near 0.08: its periodic commits).
 */
export const IDLE_UTILIZATION = 0.25;
/** Young generation (committed bytes) above this, in an idle thread, is worth a collection. */
export const YOUNG_SLACK_BYTES = 4 * 1024 * 1024;

/** What one check decides: run the release callbacks, and whether to collect too. */
export interface IdleDecision {
  release: boolean;
  collect: boolean;
}

/**
 * V8 shrinks the young generation only once its measured allocation rate is low: a collection
 * right after a burst (or beside a writer finishing its backlog) may still see the burst's rate
 * and shrink nothing. So a thread whose young generation stays large collects again, at
 * 1, 2, 4, … quiet windows apart, at most this many windows (≈ 5 min) apart.
 */
export const MAX_BACKOFF_WINDOWS = 32;

/** Where a thread is between checks. */
export interface IdleState {
  /** A busy window came since the last release. */
  dirty: boolean;
  /** Quiet windows to let pass before the next collection. */
  skip: number;
  /** Windows between collections from here on. */
  backoff: number;
}

/** The state of a thread that has just started (it starts busy: it is loading). */
export function initialIdleState(): IdleState {
  return { dirty: true, skip: 0, backoff: 1 };
}

/**
 * Pure: after a window with event-loop utilization `utilization`, with `youngBytes` of young
 * generation, what to do now; `state` is updated for the next window.
 */
export function decideIdleRelease(state: IdleState, utilization: number, youngBytes: number): IdleDecision {
  if (utilization > IDLE_UTILIZATION) {
    Object.assign(state, initialIdleState());
    return { release: false, collect: false };
  }
  const release = state.dirty;
  state.dirty = false;
  if (youngBytes <= YOUNG_SLACK_BYTES) return { release, collect: false };
  if (state.skip > 0) {
    state.skip--;
    return { release, collect: false };
  }
  state.skip = state.backoff;
  state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF_WINDOWS);
  return { release, collect: true };
}

/** The young generation's committed bytes in this thread. */
export function youngGenerationBytes(): number {
  let bytes = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') {
      bytes += space.physical_space_size;
    }
  }
  return bytes;
}

let collector: (() => void) | null | undefined;

/**
 * A full collection, from a context of its own: `--expose-gc` is set only while that context is
 * made (so no other context, nor a thread started later, gets a global `gc`). Null when the
 * runtime refuses.
 */
function fullCollection(): (() => void) | null {
  if (collector !== undefined) return collector;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    collector = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collector = null;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return collector;
}

type Release = () => void;

/** This thread's watcher (one per thread: module state is per isolate). */
const releases = new Set<Release>();
let timer: NodeJS.Timeout | null = null;
let lastElu: EventLoopUtilization | null = null;
const state = initialIdleState();

/**
 * One check of this thread's event loop over the window since the last; `measured` stands in for
 * the window's utilization (tests).
 */
export function checkIdle(measured?: number): IdleDecision {
  const previous = lastElu;
  lastElu = performance.eventLoopUtilization();
  const utilization =
    measured ?? (previous ? performance.eventLoopUtilization(lastElu, previous).utilization : 0);
  const decision = decideIdleRelease(state, utilization, youngGenerationBytes());
  if (decision.release) {
    for (const release of releases) {
      try {
        release();
      } catch {
        // A release is best effort (a connection closing meanwhile): the next one tries again.
      }
    }
  }
  if (decision.collect) fullCollection()?.();
  return decision;
}

/**
 * Runs `release` in this thread's idle windows after busy ones (see the module comment); the
 * returned function unregisters it. The check timer never keeps a thread alive.
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
