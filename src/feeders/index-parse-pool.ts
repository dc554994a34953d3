import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerFile } from '../util/worker-url.js';
import { type CompactIndexBatch, compactIndexBatch } from './index-compact.js';

/**
 * Parses the first pass's batches in parallel — on worker threads and on the calling thread —
 * and hands the results back strictly in submission order. JSON parsing is most of a large
 * index's first pass; spread over the cores, the pass runs several times faster than on one.
 * Workers exist only for the first pass: `close()` ends them.
 */
export class IndexParsePool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, (b: CompactIndexBatch) => void>();
  private nextId = 0;
  private turn = 0;
  /** Results not yet delivered, in order. */
  private readonly queue: Array<Promise<CompactIndexBatch>> = [];

  constructor(
    private readonly deliver: (batch: CompactIndexBatch) => void,
    workerCount = Math.max(2, Math.min(3, availableParallelism())),
    /** Batches in flight at most; submit() waits beyond it (backpressure on the tailer). */
    private readonly maxInFlight = 8,
  ) {
    for (let i = 0; i < workerCount; i++) {
      const w = new Worker(workerFile('./index-parse-worker.js', import.meta.url));
      w.on('message', (m: { id: number; batch: CompactIndexBatch }) => {
        const resolve = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        resolve?.(m.batch);
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Queues a batch; resolves when it may take another (results are delivered in order). */
  async submit(lines: string[]): Promise<void> {
    // The workers parse; this thread reads the file and applies results, which is about as much
    // work as one worker's share. Without workers it parses itself.
    const worker = this.workers.length === 0 ? undefined : this.workers[this.turn++ % this.workers.length];
    let result: Promise<CompactIndexBatch>;
    if (worker === undefined) {
      result = Promise.resolve(compactIndexBatch(lines));
    } else {
      const id = this.nextId++;
      result = new Promise<CompactIndexBatch>((resolve) => this.waiting.set(id, resolve));
      // The array itself: cloning it is cheaper than joining it into one string here.
      worker.postMessage({ id, lines });
    }
    this.queue.push(result);
    await this.pump(this.queue.length >= this.maxInFlight);
  }

  /** Queues a planned byte range of the index (read by a worker through the shared descriptor). */
  async submitRange(fd: number, start: number, end: number): Promise<void> {
    const worker = this.workers[this.turn++ % this.workers.length];
    if (!worker) throw new Error('submitRange needs parse workers');
    const id = this.nextId++;
    const result = new Promise<CompactIndexBatch>((resolve) => this.waiting.set(id, resolve));
    worker.postMessage({ id, fd, start, end });
    this.queue.push(result);
    await this.pump(this.queue.length >= this.maxInFlight);
  }

  /** Delivers every queued result; resolves when none is left. */
  async drain(): Promise<void> {
    await this.pump(true, true);
  }

  close(): Promise<number[]> {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }

  private async pump(waitForOne: boolean, all = false): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0] as Promise<CompactIndexBatch>;
      if (!waitForOne && !all && !(await isSettled(head))) return;
      const batch = await head;
      this.queue.shift();
      this.deliver(batch);
      waitForOne = false;
    }
  }
}

/** True when the promise has already settled (checked without waiting for it). */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([p, Promise.resolve(marker)])) !== marker;
}
