/**
 * The first pass's second scanner (a worker thread, the machine's other core): it reads planned
 * ranges of `index.jsonl` through the descriptor the main thread opened (descriptors belong to
 * the process) and scans them into compact batches, exactly as the main thread's `scanRange`
 * does, and moves each batch's columns back. It decides nothing: the main thread owns the file's
 * position, the id repeats, the order of delivery and the checkpoint.
 */
import { parentPort } from 'node:worker_threads';
import type { FirstPassJob, FirstPassResult } from './first-pass-protocol.js';
import { CompactBatchBuilder, type CompactIndexBatch } from './index-compact.js';
import { MAX_LINE_BYTES, readRange } from './index-ranges.js';
import { scanIndexRange } from './index-scan.js';

const port = parentPort;
if (!port) throw new Error('first-pass-worker must run in a worker thread');

/** Reused for every range: the bytes never leave this thread (the columns do). */
let buffer = Buffer.alloc(0);

port.on('message', (job: FirstPassJob) => {
  let result: FirstPassResult;
  try {
    if (buffer.length < job.end - job.start) buffer = Buffer.allocUnsafe(job.end - job.start);
    const bytes = readRange(job.fd, job.start, job.end, buffer);
    // A fresh builder per range: its arrays are moved to the main thread.
    const builder = new CompactBatchBuilder(Math.ceil(bytes.length / 200));
    const scanned = scanIndexRange(bytes, job.start, MAX_LINE_BYTES, builder);
    result = { id: job.id, ok: true, length: bytes.length, ...scanned };
  } catch (err) {
    result = { id: job.id, ok: false, message: (err as Error).message };
  }
  port.postMessage(result, result.ok ? transferList(result.batch) : []);
});

/** The batch's own array buffers (each column has its own), to move rather than copy. */
function transferList(b: CompactIndexBatch): ArrayBuffer[] {
  const arrays = [b.status, b.hashHi, b.hashLo, b.host, b.size, b.receivedMs, b.rows];
  arrays.push(b.hostSums.episodes, b.hostSums.bytes, b.hostSums.lastMs);
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}
