/**
 * V8's platform worker threads — its optimizing compiler's and its concurrent and parallel garbage
 * collection's helpers, shared by every isolate of the process — put behind the main thread once
 * the server has caught up.
 *
 * Why: in the steady state the main thread posts V8 a compile job or a marking task now and then,
 * and the worker it wakes took the main thread's own core from it, for up to a scheduler tick
 * (≈ 4 ms here), with the other core idle (`perf record -e sched:sched_switch`: main preempted,
 * state R, the woken worker running 2–4 ms, main back at the tick). Those were the append →
 * WebSocket tail: p99 3.6–4.3 ms over four runs on the 76k-line root, 2.4–3.4 ms with these
 * threads at nice 19 (bench/HISTORY.md, seventeenth session); nice 10 did not help (4.1–4.9 ms).
 * At a low priority the woken worker mostly waits for a free core; on an idle core it runs as
 * before.
 *
 * Not from the start: the cold first pass and the catalog's load are throughput, not latency, and
 * there the compiler's and the collector's work is worth a core at full priority. Not libuv's pool
 * threads: the main thread waits for their results (the `episodes/` scan's readdir and stat), so
 * they are on its path, not beside it.
 *
 * Which threads: noted when the CLI's first module runs (`noteV8Workers`), before any of the
 * server's worker threads starts, so those (the catalog writer lowers itself to nice 10, the
 * verifier keeps 0 on purpose) are never touched. At that moment the process holds, in the order
 * Node made them: the platform's delayed-task thread (in epoll), V8's workers (all waiting on the
 * one condition of their task queue), the signal thread, and libuv's pool (all waiting on the
 * pool's). V8's workers are the first group of threads that wait on the same thing
 * (/proc/self/task/TID/syscall: the call and its first argument, the futex word). Linux only
 * (setpriority(2) takes a thread id there); elsewhere, or when /proc cannot be read, nothing
 * changes.
 */
import fs from 'node:fs';
import os from 'node:os';

/** V8's worker threads' nice value once caught up (see above; 19 is the lowest priority). */
export const V8_WORKER_NICE = 19;

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

/** What a thread waits in: its system call and first argument (a futex's word), or null if running. */
function waitOf(tid: number): string | null {
  try {
    const fields = fs.readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').trim().split(' ');
    return fields.length >= 2 && fields[0] !== 'running' ? `${fields[0]} ${fields[1]}` : null;
  } catch {
    return null;
  }
}

/**
 * Of the threads other than the main one, in creation order, the first two or more that wait on
 * the same thing: V8's platform workers (see above). Exported for its test.
 */
export function firstSharedWaiters(threads: ReadonlyArray<{ tid: number; wait: string | null }>): number[] {
  // Grouped in thread-id order, so the groups come out of the map in the order of their first thread.
  const groups = new Map<string, number[]>();
  for (const { tid, wait } of [...threads].sort((a, b) => a.tid - b.tid)) {
    if (wait === null) continue;
    const group = groups.get(wait);
    if (group) group.push(tid);
    else groups.set(wait, [tid]);
  }
  for (const group of groups.values()) if (group.length >= 2) return group;
  return [];
}

/**
 * The `--v8-pool-size` Node was started with (its flags, then NODE_OPTIONS; the last one given
 * counts), or null when none was given (Node's default pool: four workers). Exported for its test.
 */
export function explicitV8PoolSize(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): number | null {
  let size: number | null = null;
  const flags = [...(nodeOptions ?? '').split(/\s+/), ...execArgv];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] as string;
    const value = flag.startsWith('--v8-pool-size=')
      ? flag.slice('--v8-pool-size='.length)
      : flag === '--v8-pool-size'
        ? flags[i + 1]
        : undefined;
    if (value !== undefined && /^\d+$/.test(value)) size = Number(value);
  }
  return size;
}

/**
 * Notes V8's worker threads. Call it first thing on the main thread, before any worker thread
 * starts; later calls keep the first list. With a pool of fewer than two workers asked for (or 0,
 * Node's own estimate) the first shared wait could be libuv's pool: nothing is noted then.
 */
export function noteV8Workers(): void {
  if (noted) return;
  const pool = explicitV8PoolSize(process.execArgv, process.env.NODE_OPTIONS);
  noted =
    pool !== null && pool < 2
      ? []
      : firstSharedWaiters(
          threadIds()
            .filter((tid) => tid !== process.pid)
            .map((tid) => ({ tid, wait: waitOf(tid) })),
        );
}

/**
 * Lowers the noted threads to V8_WORKER_NICE; returns how many it lowered (an ended one is not)
 * (0 when none were noted: a server started in-process, by a test or a library user).
 */
export function lowerV8Workers(): number {
  let lowered = 0;
  for (const tid of noted ?? []) {
    try {
      os.setPriority(tid, V8_WORKER_NICE);
      lowered++;
    } catch {
      // The thread has ended (ESRCH), or the system refuses: it is not counted.
    }
  }
  return lowered;
}
