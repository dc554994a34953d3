import { performance } from 'node:perf_hooks';
import { threadCpuSeconds } from '../util/thread-cpu.js';

/**
 * A cold start's phases, when `CIS490_BOOT_TRACE=1`: each mark is the wall time since the first
 * mark (the pipeline's start, where `bootstrap_seconds` starts) and this thread's CPU seconds then
 * (`/proc/thread-self/stat`, Linux) and the whole process's (`proc`, every thread's); sums add up time spent in a named part (e.g. the id dedupe).
 * `serve` logs them on its 'ready' line's heels as one 'boot trace' line. Off by default: nothing
 * is read or kept then.
 */
export const bootTraceOn = process.env.CIS490_BOOT_TRACE === '1';

const marks: Array<{ at: string; ms: number; cpu: number; proc: number }> = [];
const sums = new Map<string, { ms: number; cpu: number; n: number }>();
let t0 = -1;

/** Marks a phase's end (or start) on this thread. */
export function traceMark(at: string): void {
  if (!bootTraceOn) return;
  const now = performance.now();
  if (t0 < 0) t0 = now;
  marks.push({ at, ms: Math.round(now - t0), cpu: threadCpuSeconds(), proc: threadCpuSeconds('self') });
}

/** Adds `ms` of wall time (measured by the caller) to the part `name`. */
export function traceAdd(name: string, ms: number): void {
  if (!bootTraceOn) return;
  const s = sums.get(name) ?? { ms: 0, cpu: 0, n: 0 };
  s.ms += ms;
  s.n++;
  sums.set(name, s);
}

/** Times `fn` as part `name` (only when tracing). */
export function traced<T>(name: string, fn: () => T): T {
  if (!bootTraceOn) return fn();
  const s = performance.now();
  try {
    return fn();
  } finally {
    traceAdd(name, performance.now() - s);
  }
}

/** Extra figures of the trace (e.g. the scanner thread's CPU, ranges per thread). */
const extras: Record<string, unknown> = {};
export function traceSet(key: string, value: unknown): void {
  if (bootTraceOn) extras[key] = value;
}

/** The trace so far, or null when off. */
export function bootTrace(): Record<string, unknown> | null {
  if (!bootTraceOn) return null;
  const parts: Record<string, { ms: number; n: number }> = {};
  for (const [k, v] of sums) parts[k] = { ms: Math.round(v.ms), n: v.n };
  return { marks, parts, ...extras };
}
