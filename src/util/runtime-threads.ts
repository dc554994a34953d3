/**
 * The threads Node and V8 start for themselves — V8's four platform workers (its optimizing
 * compiler and its concurrent and parallel garbage collection), their delayed-task thread, the
 * signal thread and libuv's file-system pool — put behind the main thread once the server has
 * caught up.
 *
 * Why: in the steady state the main thread posts V8 a compile job or a marking task now and then,
 * and the worker it wakes took the main thread's own core from it, for up to a scheduler tick
 * (≈ 4 ms here), with the other core idle (`perf record -e sched:sched_switch`: main preempted,
 * state R, the woken worker running 2–4 ms, main back at the tick). Those were the append →
 * WebSocket tail: p99 3.9–4.8 ms over four runs on the 76k-line root, 2.5–2.9 ms with these
 * threads at nice 19 (bench/HISTORY.md, seventeenth session). At a low priority the woken worker
 * waits for a free core instead; on an idle core it runs as before.
 *
 * Not from the start: the cold first pass and the catalog's load are throughput, not latency, and
 * there the compiler's and the collector's work is worth a core at full priority.
 *
 * Which threads: those that exist when the CLI's first module runs (`noteRuntimeThreads`, before
 * any of the server's worker threads starts). Threads started later inherit their starter's
 * priority: the server's own workers (the catalog writer lowers itself to nice 10, the verifier
 * keeps 0 on purpose) are never touched. Linux only (setpriority(2) takes a thread id there);
 * elsewhere, or when /proc cannot be read, nothing changes.
 */
import fs from 'node:fs';
import os from 'node:os';

/** The runtime's helper threads' nice value once caught up (see above; 19 is the lowest priority). */
export const RUNTIME_HELPER_NICE = 19;

let noted: readonly number[] | null = null;

function threadIds(): number[] {
  try {
    return fs
      .readdirSync('/proc/self/task')
      .map(Number)
      .filter((tid) => Number.isInteger(tid) && tid > 0);
  } catch {
    return [];
  }
}

/**
 * Notes the process's threads other than the main one as the runtime's own. Call it first thing
 * on the main thread, before any worker thread starts; later calls keep the first list.
 */
export function noteRuntimeThreads(): void {
  noted ??= threadIds().filter((tid) => tid !== process.pid);
}

/**
 * Lowers the noted threads that still run to RUNTIME_HELPER_NICE; returns how many it lowered
 * (0 when none were noted: a server started in-process, by a test or a library user).
 */
export function lowerRuntimeThreads(): number {
  if (!noted) return 0;
  const alive = new Set(threadIds());
  let lowered = 0;
  for (const tid of noted) {
    if (!alive.has(tid)) continue;
    try {
      os.setPriority(tid, RUNTIME_HELPER_NICE);
      lowered++;
    } catch {
      // The thread ended meanwhile, or the system refuses: it keeps its priority.
    }
  }
  return lowered;
}
