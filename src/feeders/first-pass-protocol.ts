import type { CompactIndexBatch } from './index-compact.js';
import type { ScannedRange } from './index-scan.js';

/** A range for the first pass's scanner thread: [start, end) of the file open at `fd`, whole lines. */
export interface FirstPassJob {
  id: number;
  fd: number;
  start: number;
  end: number;
}

/** The scanner thread's answer: the range's compact batch (columns moved), or why it failed. */
export type FirstPassResult =
  | ({ id: number; ok: true; length: number; batch: CompactIndexBatch } & Omit<ScannedRange, 'batch'>)
  | { id: number; ok: false; message: string };
