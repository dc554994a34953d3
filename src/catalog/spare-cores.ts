import fs from 'node:fs';
import os from 'node:os';
import { threadCpuSeconds } from '../util/thread-cpu.js';

/**
 * How many of the machine's cores other processes left unused lately, from /proc (Linux): the
 * whole machine's busy time less this process's own, over a recent window. For the catalog
 * writer's choice of SQLite sorter helpers (persist-worker.ts `sortThreads`). The load average
 * cannot tell this: it counts this process's own threads, so after a first pass (two busy threads
 * for seconds) it read above 1 on an idle two-core machine and the helpers were never used.
 */
export class SpareCores {
  /** Samples of the last few seconds, oldest first. */
  private samples: CpuSample[] = [];

  /** Takes a sample (at most one every SAMPLE_MS; cheap: two small /proc reads). */
  note(now = performance.now()): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && now - last.at < SAMPLE_MS) return;
    const s = sample(now);
    if (s === null) return;
    this.samples.push(s);
    // Keep the newest sample older than the window, and those after it.
    while (this.samples.length > 2 && now - (this.samples[1] as CpuSample).at >= WINDOW_MS)
      this.samples.shift();
  }

  /**
   * Cores neither this process nor any other kept busy since the oldest sample of the window
   * (at least MIN_SPAN_MS ago), counting this process's own threads as spare (they are this
   * process's to schedule); NaN when it cannot be told (no /proc, too short a span).
   */
  othersIdle(now = performance.now()): number {
    const a = this.samples.find((s) => now - s.at >= MIN_SPAN_MS);
    const b = sample(now);
    if (a === undefined || b === null) return Number.NaN;
    const total = b.total - a.total;
    if (total <= 0) return Number.NaN;
    const othersBusy = b.busy - a.busy - (b.own - a.own);
    const cores = os.availableParallelism();
    return cores * (1 - Math.max(0, othersBusy) / total);
  }
}

/** Samples are taken this far apart at most. */
const SAMPLE_MS = 250;
/** The window looked back over: the last seconds, not the whole load. */
const WINDOW_MS = 2000;
/** The shortest span that says anything (/proc's clock ticks are 10 ms). */
const MIN_SPAN_MS = 400;

interface CpuSample {
  at: number;
  /** Clock ticks of the whole machine: busy, and busy + idle. */
  busy: number;
  total: number;
  /** Clock ticks of this process (every thread). */
  own: number;
}

function sample(at: number): CpuSample | null {
  try {
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest is in user).
    const stat = fs.readFileSync('/proc/stat', 'latin1');
    const f = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const busy = user + nice + system + irq + softirq + steal;
    // This process's CPU in the same clock ticks (/proc's USER_HZ, 100 a second).
    const own = Math.round(threadCpuSeconds('self') * 100);
    if (!Number.isFinite(busy) || !Number.isFinite(own)) return null;
    return { at, busy, total: busy + idle + iowait, own };
  } catch {
    return null;
  }
}
