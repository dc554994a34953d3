import type { MessagePort } from 'node:worker_threads';
import type { BatchColumns, CompactIndexBatch } from './index-compact.js';
import type { ScannedRange } from './index-scan.js';

/**
 * The pass's shared counters (an Int32Array over a SharedArrayBuffer), by slot. Both threads take
 * ranges from NEXT (`Atomics.add`), so whichever thread is free scans the next range; the main
 * thread stores DELIVERED after each batch it applies, which bounds how far the scanner runs ahead.
 */
export const CONTROL = { next: 0, delivered: 1 } as const;

/**
 * The scanner thread's one job: the planned ranges ([start, end) of the file open at `fd`, whole
 * lines) and the counters it takes them through; at most `ahead` taken and not yet delivered.
 */
export interface FirstPassJob {
  fd: number;
  ranges: ReadonlyArray<readonly [number, number]>;
  control: SharedArrayBuffer;
  ahead: number;
  /**
   * Column sets the main thread made (and faulted in) while it waited, `{ columns }` messages
   * (moved): the scanner takes one per range while there are some (`receiveMessageOnPort`), else
   * makes its own. Each range's columns move on to the catalog writer, so none is ever reused.
   */
  spares?: MessagePort;
}

/**
 * The bytes a line a range's columns are sized for (short lines: a range of longer ones leaves the
 * rest unused, one of shorter ones grows its columns). The scanner's builders, the main thread's,
 * and the spare column sets the main thread makes for the scanner are all sized by it.
 */
export const RANGE_BYTES_PER_LINE = 200;

/** The longest of a plan's `ranges`, in bytes. */
export function longestRange(ranges: ReadonlyArray<readonly [number, number]>): number {
  let most = 0;
  for (const [start, end] of ranges) if (end - start > most) most = end - start;
  return most;
}

/** Column capacity (lines) for a range of `bytes`. */
export function rangeCapacity(bytes: number): number {
  return Math.ceil(bytes / RANGE_BYTES_PER_LINE);
}

/** A message on `FirstPassJob.spares`. */
export interface SpareColumns {
  columns: BatchColumns;
}

/** The scanner thread's first message: its modules are loaded. */
export const SCANNER_READY = 'ready';

/** The scanner thread's answer per range it took: its compact batch (columns moved), or why it failed. */
export type FirstPassResult =
  | ({
      id: number;
      ok: true;
      length: number;
      batch: CompactIndexBatch;
      cpu?: number;
      cpuAtJob?: number;
      blockedMs?: number;
    } & Omit<ScannedRange, 'batch'>)
  | { id: number; ok: false; message: string };
