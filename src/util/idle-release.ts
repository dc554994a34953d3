/**
 * Gives memory back once a thread goes idle after a burst of work (a catch-up, a backlog).
 *
 * V8 grows a thread's young generation to 32 MiB (two 16 MiB semi-spaces) under a high
 * allocation rate and keeps it at that size until a garbage collection runs while the rate is
 * low; an idle server allocates too little to ever trigger one. Measured on a 1,000,000-line
 * cold start: the main thread and the catalog writer each held 32 MiB of young generation 30 s
 * after catch-up, 5–11 MiB of it in use. SQLite page caches likewise keep their pages after the
 * bulk work that filled them. So every thread that opens the catalog watches its own event loop:
 * after a busy stretch, the first window the loop was idle runs the release callbacks (each
 * connection's `PRAGMA shrink_memory`) and, when the young generation is still large, one full
 * collection (V8 then shrinks the young generation to its minimum, as it does under its own
 * memory reducer). A thread that stays idle, or only ever lightly busy, pays nothing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/** How often a thread looks at its own event loop. */
export const IDLE_CHECK_MS = 10_000;
/** A window whose event loop was busier than this is "busy"; at or below it, "idle". */
export const IDLE_UTILIZATION = 0.02;
/** Young generation (committed bytes) above this, in an idle thread, is worth a collection. */
export const YOUNG_SLACK_BYTES = 4 * 1024 * 1024;

/** What one check decides: run the release callbacks, and whether to collect too. */
export interface IdleDecision {
  release: boolean;
  collect: boolean;
}

/**
 * Pure: after a window with event-loop utilization `utilization`, with `youngBytes` of young
 * generation, and `dirty` when a busy window came since the last release.
 */
export function decideIdleRelease(utilization: number, youngBytes: number, dirty: boolean): IdleDecision {
  const release = dirty && utilization <= IDLE_UTILIZATION;
  return { release, collect: release && youngBytes > YOUNG_SLACK_BYTES };
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
/** A busy window came since the last release (a thread starts busy: it is loading). */
let dirty = true;

/** One check of this thread's event loop (exported for tests). */
export function checkIdle(): IdleDecision {
  const previous = lastElu;
  lastElu = performance.eventLoopUtilization();
  const utilization = previous ? performance.eventLoopUtilization(lastElu, previous).utilization : 0;
  if (utilization > IDLE_UTILIZATION) dirty = true;
  const decision = decideIdleRelease(utilization, youngGenerationBytes(), dirty);
  if (!decision.release) return decision;
  dirty = false;
  for (const release of releases) {
    try {
      release();
    } catch {
      // A release is best effort (a connection closing meanwhile): the next one tries again.
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
