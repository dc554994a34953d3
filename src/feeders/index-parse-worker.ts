/**
 * A first-pass parse worker: turns a batch of index lines into a compact batch (typed arrays,
 * transferred back without copying). Lines arrive joined by '\n' — one string copies in one go.
 */
import { parentPort } from 'node:worker_threads';
import { compactIndexBatch, transferables } from './index-compact.js';

const port = parentPort;
if (!port) throw new Error('index-parse-worker must run in a worker thread');

port.on('message', (m: { id: number; lines: string[] }) => {
  const batch = compactIndexBatch(m.lines);
  port.postMessage({ id: m.id, batch }, transferables(batch));
});
