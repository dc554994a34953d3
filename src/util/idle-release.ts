/**
 * Gives memory back once a thread goes idle after a burst of work (a catch-up, a backlog). Every
 * thread that opens the catalog watches its own event loop and, once it has been quiet for 7.5 s
 * (`QUIET_WINDOWS`) after a busy stretch — 5 s after its start-up stretch (`START_QUIET_WINDOWS`) —,
 * runs its release callbacks (each connection's `PRAGMA shrink_memory`: the
 * pages a catch-up cached), then a memory-reducing collection of its own heap, then the "after"
 * callbacks (the malloc trim, `catalog/db.ts`: process-wide, it also returns what other threads
 * freed, and what a thread that ended left). A thread that stays quiet after its first release
 * pays nothing.
 *
 * The collection is V8's low-memory one (through an in-process inspector session's
 * `HeapProfiler.collectGarbage`): it compacts the old generation and shrinks the young one back
 * to its minimum. A catch-up grows each thread's young generation to 32 MiB, and neither a plain
 * `gc()` nor V8's own memory reducer shrinks it back: both were tried (a forced `gc()` with
 * retries cost 2–4 ms of CPU per snapshot cycle and left RSS as it was). Measured on the 1M-line
 * python root, 35 s after catch-up: main thread 59 → 27 MiB of heap, verifier 41 → 8 MiB, once,
 * for ≈ 0.1–0.15 s of CPU on the main thread.
 */

import fs from 'node:fs';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { threadId } from 'node:worker_threads';
import { threadCpuSeconds } from './thread-cpu.js';

/**
 * How often a thread looks at its own event loop. 2.5 s (was 5 s, with 3 quiet windows: 15–20 s):
 * a replica that had applied a burst of 300,000 stream records still held ≈ 80 MiB of V8 heap
 * (152.8 against 86.5 MiB for its twin that had released) when measured ≈ 13 s after the burst.
 */
export const IDLE_CHECK_MS = 2_500;
/**
 * A window whose event loop was busier than this is "busy"; at or below it, "quiet" (the catalog
 * writer of an idle server stays near 0.08: its periodic commits).
 */
export const IDLE_UTILIZATION = 0.25;
/**
 * Quiet windows in a row after a busy one before the release: a thread that has settled (7.5 s),
 * not one between two bursts. The release's collection costs ≈ 0.1 s of CPU; paid in a lull it
 * would come back with the next burst.
 */
export const QUIET_WINDOWS = 3;
/**
 * Quiet windows after a thread's start-up stretch (its first busy one, or none) before its first
 * release. A thread's start is a one-off load — the first pass, a bulk load, the verifier's walk
 * over every row of a caught-up catalog — that no burst of its kind follows; and a thread that
 * starts quiet (the catalog writer renewed after a bulk load) is there to trim what its predecessor
 * freed on its way out. With QUIET_WINDOWS there, the last of the start-up releases came 25–35 s
 * after catch-up (the renewed writer's, 15 s after the index builds; the verifier's, 15 s after its
 * walk), and an idle footprint measured 30 s after catch-up was bimodal (`CIS490_IDLE_TRACE`
 * showed 20–28 MiB of freed memory trimmed only then). 5 s (two windows), as before the windows
 * were halved. A start that does pause for 5 s between two loads pays for one release more, once.
 */
export const START_QUIET_WINDOWS = 2;

/** Where a thread is between checks. */
export interface IdleState {
  /** A busy window came since the last release (or the thread has not released yet). */
  dirty: boolean;
  /** Quiet windows in a row since then. */
  quiet: number;
  /** Quiet windows in a row the release waits for: START_QUIET_WINDOWS until the first, then QUIET_WINDOWS. */
  settle: number;
}

/** The state of a thread that has just started (its start-up load ahead). */
export function initialIdleState(): IdleState {
  return { dirty: true, quiet: 0, settle: START_QUIET_WINDOWS };
}

/**
 * Pure: after a window with event-loop utilization `utilization`, whether to run the release
 * callbacks now; `state` is updated for the next window.
 */
export function decideIdleRelease(state: IdleState, utilization: number): boolean {
  if (utilization > IDLE_UTILIZATION) {
    state.dirty = true;
    state.quiet = 0;
    return false;
  }
  if (!state.dirty) return false;
  state.quiet++;
  if (state.quiet < state.settle) return false;
  state.dirty = false;
  state.quiet = 0;
  state.settle = QUIET_WINDOWS;
  return true;
}

type Release = () => void;

/** This thread's watcher (one per thread: module state is per isolate). */
const releases = new Set<Release>();
/** Run after the collection (whatever it freed is then free for them to give back). */
const afterCollection = new Set<Release>();
let timer: NodeJS.Timeout | null = null;
let lastElu: EventLoopUtilization | null = null;
/** This thread's CPU seconds and the time (ms) at the last look (NaN CPU: no /proc). */
let lastCpu = Number.NaN;
let lastAt = 0;
const state = initialIdleState();

/** Starts the next window now. */
function startWindow(): void {
  lastElu = performance.eventLoopUtilization();
  lastCpu = threadCpuSeconds();
  lastAt = performance.now();
}

/**
 * A window in which the thread spent less CPU than this share of it is quiet, whatever its event
 * loop's utilization says (Linux, where the thread's CPU time can be read).
 */
export const IDLE_MIN_BUSY_CPU = 0.05;

/**
 * The event loop's utilization over the window since the last look — or this thread's CPU share
 * when that is below IDLE_MIN_BUSY_CPU. The utilization counts time the loop waits in a
 * synchronous call (a SQLite lock) or for a core: at load 12 the main thread of an idle server read
 * 0.84 and 0.49 over windows it spent 0.02 s of CPU in, and released again after each (0.05 s of
 * CPU and a pause of up to 2 s each, for nothing). The CPU share alone would not do: a thread at
 * work on a loaded machine may get less than a quarter of a core, and would read quiet.
 */
function windowUtilization(): number {
  const previousElu = lastElu;
  const previousCpu = lastCpu;
  const previousAt = lastAt;
  startWindow();
  const elu = previousElu && lastElu ? performance.eventLoopUtilization(lastElu, previousElu).utilization : 0;
  const seconds = (lastAt - previousAt) / 1000;
  if (Number.isFinite(lastCpu) && Number.isFinite(previousCpu) && seconds > 0) {
    const cpuShare = (lastCpu - previousCpu) / seconds;
    if (cpuShare < IDLE_MIN_BUSY_CPU) return Math.min(elu, cpuShare);
  }
  return elu;
}

/**
 * One check of this thread's event loop over the window since the last; `measured` stands in for
 * the window's utilization (tests). Returns whether it released.
 */
export function checkIdle(measured?: number): boolean {
  const utilization = measured ?? windowUtilization();
  const release = decideIdleRelease(state, utilization);
  trace('check', { utilization: +utilization.toFixed(3), release });
  if (release) {
    runAll(releases);
    trace('released');
    void collectForMemory().then(() => {
      trace('collected');
      runAll(afterCollection);
      trace('after');
      // The next window starts after the release: its collection holds the event loop (0.2–1.4 s
      // on a loaded machine), and counted in that window it read as busy (0.64, 0.72), which
      // brought a second release, for nothing, one settle later.
      startWindow();
    });
  }
  return release;
}

/**
 * `CIS490_IDLE_TRACE=FILE`: every check and every step of a release is appended to FILE as one
 * JSON line — seconds since the process started, the process id, the thread (`threadId`; 0 is the main thread),
 * the window's event-loop utilization and the decision, this thread's CPU seconds and V8 heap
 * (MiB), the process's RSS and anonymous memory (MiB, `/proc/self/smaps_rollup`). For finding
 * which thread holds memory when (Linux); off by default, and then nothing is read.
 */
const TRACE_FILE = process.env.CIS490_IDLE_TRACE || null;

function trace(event: string, extra: Record<string, unknown> = {}): void {
  if (TRACE_FILE === null) return;
  try {
    const rollup = fs.readFileSync('/proc/self/smaps_rollup', 'latin1');
    const mib = (key: string) =>
      Math.round(Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(rollup)?.[1]) / 1024);
    const heap = v8.getHeapStatistics();
    const line = {
      t: +process.uptime().toFixed(2),
      // Several processes may share one file (a replica pair, an agent beside them).
      pid: process.pid,
      thread: threadId,
      event,
      ...extra,
      cpu: threadCpuSeconds(),
      heap: Math.round(heap.total_heap_size / 2 ** 20),
      heapUsed: Math.round(heap.used_heap_size / 2 ** 20),
      rss: mib('Rss'),
      anon: mib('Anonymous'),
    };
    fs.appendFileSync(TRACE_FILE, `${JSON.stringify(line)}\n`);
  } catch {
    // A trace is best effort (no /proc: not Linux).
  }
}

function runAll(runs: Set<Release>): void {
  for (const run of runs) {
    try {
      run();
    } catch {
      // A release is best effort (a connection closing meanwhile): the next one tries again.
    }
  }
}

/**
 * A memory-reducing full collection of this thread's heap (V8's low-memory notification: the
 * old generation compacted, the young one shrunk to its minimum), through an in-process inspector
 * session (no port is opened). Resolves once it is done; at once where Node was built without an
 * inspector.
 */
export async function collectForMemory(): Promise<void> {
  let session: import('node:inspector').Session;
  try {
    const inspector = await import('node:inspector');
    session = new inspector.Session();
    session.connect();
  } catch {
    return;
  }
  await new Promise<void>((resolve) => {
    // Disconnected on the next turn of the loop, never from inside this callback: V8 runs it
    // holding its heap profiler's lock, which closing the session takes too (a deadlock: the
    // thread hangs for good).
    session.post('HeapProfiler.collectGarbage', () => setImmediate(resolve));
  });
  session.disconnect();
}

/**
 * Runs `release` in this thread's first quiet window after busy ones (see the module comment), and
 * `after` once the collection that follows it is done; the returned function unregisters both.
 * The check timer never keeps a thread alive.
 */
export function releaseWhenIdle(release: Release, after?: Release): () => void {
  releases.add(release);
  if (after) afterCollection.add(after);
  if (timer === null) {
    startWindow();
    timer = setInterval(checkIdle, IDLE_CHECK_MS);
    timer.unref();
  }
  return () => {
    releases.delete(release);
    if (after) afterCollection.delete(after);
    if (releases.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}
