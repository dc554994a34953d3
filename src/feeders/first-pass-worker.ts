/**
 * The first pass's second scanner (a worker thread, the machine's other core): it takes planned
 * ranges of `index.jsonl` from the counter it shares with the main thread, reads them through the
 * descriptor the main thread opened (descriptors belong to the process) and scans them into
 * compact batches, exactly as the main thread's `scanHere` does, and moves each batch's columns
 * back. It decides nothing: the main thread owns the file's position, the id repeats, the order
 * of delivery and the checkpoint.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { detachEarly } from '../util/detach-early.js';
import { threadCpuSeconds } from '../util/thread-cpu.js';
import {
  CONTROL,
  type FirstPassJob,
  type FirstPassResult,
  longestRange,
  SCANNER_READY,
} from './first-pass-protocol.js';
import { bootTraceOn } from './first-pass-trace.js';
import type { BatchColumns, CompactIndexBatch } from './index-compact.js';
import { MAX_LINE_BYTES, readRange } from './index-ranges.js';
import { scanIndexRange } from './index-scan.js';
import { rangeBuilder } from './range-builder.js';
import { primeScanner } from './scan-primer.js';

const port = parentPort;
if (!port) throw new Error('first-pass-worker must run in a worker thread');

// Loaded: a scanner started ahead of its pass says so (`prestartScanner`'s promise).
port.postMessage(SCANNER_READY);
// Before the scan is compiled: this thread moves every batch's columns (see `detachEarly`).
detachEarly();
// While the main thread still loads: every branch of the scan gets its type feedback.
primeScanner();

/**
 * Reused for every range: the bytes never leave this thread (the columns do). Sized for the
 * plan's longest range once: grown whenever a range was longer than every one before (ranges
 * differ by up to a line), it was a fresh 4 MiB of page faults on this thread a few times a pass.
 */
let buffer = Buffer.alloc(0);

port.once('message', (job: FirstPassJob) => {
  const cpuAtJob = bootTraceOn ? threadCpuSeconds() : 0;
  /** Time spent waiting for this many ranges to be delivered (the `ahead` bound), when tracing. */
  let blockedMs = 0;
  const control = new Int32Array(job.control);
  const n = job.ranges.length;
  const longest = longestRange(job.ranges);
  if (buffer.length < longest) buffer = Buffer.allocUnsafe(longest);
  for (;;) {
    // Not more than `ahead` ranges taken beyond those delivered (the main thread's included).
    for (;;) {
      const delivered = Atomics.load(control, CONTROL.delivered);
      if (Atomics.load(control, CONTROL.next) - delivered < job.ahead) break;
      const from = bootTraceOn ? performance.now() : 0;
      Atomics.wait(control, CONTROL.delivered, delivered, 100);
      if (bootTraceOn) blockedMs += performance.now() - from;
    }
    const id = Atomics.add(control, CONTROL.next, 1);
    if (id >= n) {
      job.spares?.close();
      return;
    }
    const [start, end] = job.ranges[id] as readonly [number, number];
    let result: FirstPassResult;
    try {
      const bytes = readRange(job.fd, start, end, buffer);
      // A fresh builder per range (its arrays are moved to the main thread), over columns the
      // main thread faulted in ahead when it sent some.
      const spare = job.spares
        ? (receiveMessageOnPort(job.spares)?.message as { columns: BatchColumns } | undefined)
        : undefined;
      const builder = rangeBuilder(bytes.length, spare?.columns);
      const scanned = scanIndexRange(bytes, start, MAX_LINE_BYTES, builder);
      result = { id, ok: true, length: bytes.length, ...scanned };
      if (bootTraceOn)
        Object.assign(result, { cpu: threadCpuSeconds(), cpuAtJob, blockedMs: Math.round(blockedMs) });
    } catch (err) {
      result = { id, ok: false, message: (err as Error).message };
    }
    port.postMessage(result, result.ok ? transferList(result.batch) : []);
  }
});

/** The batch's own array buffers (each column has its own, and the deferred tail's copy), to move rather than copy. */
function transferList(b: CompactIndexBatch): ArrayBuffer[] {
  const arrays = [b.status, b.hashHi, b.hashLo, b.host, b.size, b.receivedMs, b.rows, b.spans];
  arrays.push(b.hostSums.episodes, b.hostSums.bytes, b.hostSums.lastMs);
  // The deferred tail's copy (≈ 90–150 KB a range) too: copied, it cost the main thread a fresh
  // buffer's page faults per range.
  if (b.tailBytes) arrays.push(b.tailBytes);
  if (b.tailSpans) arrays.push(b.tailSpans);
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}
