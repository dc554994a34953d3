import fs from 'node:fs';
import os from 'node:os';

/**
 * OS threads of this process that a call started, by Linux thread id: `start` runs and the ids
 * under /proc/self/task that were not there before are returned (a worker thread exists once
 * `new Worker` returns). Empty where there is no /proc (the caller then changes nothing).
 */
export function threadsStartedBy(start: () => void): number[] {
  const before = taskIds();
  start();
  if (before === null) return [];
  return [...(taskIds() ?? [])].filter((tid) => !before.has(tid));
}

function taskIds(): Set<number> | null {
  try {
    return new Set(fs.readdirSync('/proc/self/task').map(Number));
  } catch {
    return null;
  }
}

/**
 * Sets the nice value of each thread (Linux: a thread id is a `setpriority` target of its own);
 * true when every one took it. Raising a thread back needs the privilege to (root, or
 * RLIMIT_NICE); without it the thread keeps the lower priority, which only matters while other
 * work wants the same cores.
 */
export function setThreadsNice(tids: readonly number[], nice: number): boolean {
  let all = true;
  for (const tid of tids) {
    try {
      os.setPriority(tid, nice);
    } catch {
      all = false;
    }
  }
  return all;
}
