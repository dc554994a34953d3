import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { prestartWorker } from './prestarted-worker.js';

/** A thread that says it is loaded, then echoes what it is sent (kept alive by its port). */
const ECHO = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage('loaded');
parentPort.on('message', (m) => parentPort.postMessage(m));
`;
const echo = () => new Worker(ECHO, { eval: true });

describe('a worker thread started ahead of need', () => {
  it('is ready once it says so, and the first take owns the running thread', async () => {
    const held = prestartWorker(echo, { readyMessage: 'loaded' });
    if (!held) throw new Error('no thread started');
    await held.ready;
    const worker = held.take();
    expect(worker?.threadId).toBe(held.threadId);
    expect(held.take()).toBeNull();
    if (!worker) return;
    worker.postMessage('ping');
    const [reply] = await once(worker, 'message');
    expect(reply).toBe('ping');
    // Taken, it is not ended by a later release.
    held.release();
    worker.postMessage('still there');
    expect((await once(worker, 'message'))[0]).toBe('still there');
    await worker.terminate();
  });

  it('is ended when released unused, after its beforeEnd hook', async () => {
    const hooked: number[] = [];
    const held = prestartWorker(echo, { beforeEnd: (w) => hooked.push(w.threadId) });
    if (!held) throw new Error('no thread started');
    const worker = held.take();
    if (!worker) throw new Error('not taken');
    await worker.terminate();

    const unused = prestartWorker(echo, {
      readyMessage: 'loaded',
      beforeEnd: (w) => hooked.push(w.threadId),
    });
    if (!unused) throw new Error('no thread started');
    await unused.ready;
    unused.release();
    expect(hooked).toEqual([unused.threadId]);
    expect(unused.take()).toBeNull();
  });

  it('ends itself when nobody takes it in time', async () => {
    let exited!: () => void;
    const gone = new Promise<void>((resolve) => {
      exited = resolve;
    });
    const held = prestartWorker(
      () => {
        const w = echo();
        w.once('exit', () => exited());
        return w;
      },
      { unusedMs: 20 },
    );
    if (!held) throw new Error('no thread started');
    await gone;
    expect(held.take()).toBeNull();
  });
});
