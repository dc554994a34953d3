import type { CompactIndexBatch } from './index-compact.js';
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
