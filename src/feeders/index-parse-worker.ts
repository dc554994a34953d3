/**
 * A first-pass parse worker: turns a batch of index lines into a compact batch (typed arrays,
 * transferred back without copying). Lines arrive joined by '\n' — one string copies in one go.
 */
import { parentPort } from 'node:worker_threads';
import { type CompactIndexBatch, compactIndexBatch, transferables } from './index-compact.js';
import { readRangeLines } from './index-ranges.js';

const port = parentPort;
if (!port) throw new Error('index-parse-worker must run in a worker thread');

port.on(
  'message',
  (m: { id: number; lines: string[] } | { id: number; fd: number; start: number; end: number }) => {
    let lines: string[];
    let tooLong = 0;
    if ('lines' in m) lines = m.lines;
    else {
      // A planned range of the first pass, read here through the process's shared descriptor.
      const sink = readRangeLines(m.fd, m.start, m.end);
      lines = sink.lines;
      tooLong = sink.skipped.filter((s) => s.reason === 'line_too_long').length;
    }
    const batch: CompactIndexBatch = { ...compactIndexBatch(lines), tooLong };
    port.postMessage({ id: m.id, batch }, transferables(batch));
  },
);
