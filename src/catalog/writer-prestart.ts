/**
 * The catalog writer thread, started ahead of need (`prestartCatalogWriter`): imported by the
 * CLI's first module, so this file imports next to nothing — the thread starts before the
 * server's own modules are read.
 */
import { Worker } from 'node:worker_threads';
import { type PrestartedWorker, prestartWorker } from '../util/prestarted-worker.js';
import { workerFile } from '../util/worker-url.js';
import { type PersistWorkerData, type PrestartedWriterData, WRITER_HANDOVER } from './persist-protocol.js';

/** The catalog writer's script (one place: the writer the persister spawns, and the prestarted one). */
export const writerFile = () => workerFile('./persist-worker.js', import.meta.url);

/** A catalog writer started ahead of need (`prestartCatalogWriter`), with the word it waits on. */
let prestarted: { held: PrestartedWorker; handover: Int32Array; threadId: number } | null = null;

/**
 * Starts a catalog writer thread now, before the server knows its state dir: its start (an
 * isolate, Node's bootstrap, better-sqlite3 and the catalog's modules) then runs on the other core
 * while the main thread loads the server, instead of inside the cold start's first pass, when both
 * cores are busy (measured on the 1M-line python root, `bench/ab-boot.mjs`: first pass 0.954
 * against 1.022 s; 76k lines: 0.336 against 0.397 s). The first writer a CatalogPersister spawns
 * takes it; one nobody takes is ended after 10 s (or by `releasePrestartedCatalogWriter`).
 * Returns its thread id (null: none could be started).
 */
export function prestartCatalogWriter(): number | null {
  if (prestarted) return prestarted.threadId;
  const shared = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const handover = new Int32Array(shared);
  const held = prestartWorker(
    () => new Worker(writerFile(), { workerData: { handover: shared } satisfies PrestartedWriterData }),
    {
      // It waits for its data: told none is coming, it ends itself.
      beforeEnd: () => wake(handover, WRITER_HANDOVER.released),
    },
  );
  const threadId = held?.threadId ?? null;
  prestarted = held && threadId !== null ? { held, handover, threadId } : null;
  return threadId;
}

/** Ends the prestarted catalog writer, if it waits unused. */
export function releasePrestartedCatalogWriter(): void {
  prestarted?.held.release();
  prestarted = null;
}

/** The prestarted writer, given `data`, if one waits and is alive (the caller owns it then). */
export function takePrestartedWriter(data: PersistWorkerData): Worker | null {
  const taken = prestarted;
  prestarted = null;
  const worker = taken?.held.take() ?? null;
  if (!taken || !worker) return null;
  // Posted before the wake: the thread reads it synchronously once it wakes (persist-worker.ts).
  worker.postMessage(data);
  wake(taken.handover, WRITER_HANDOVER.given);
  return worker;
}

function wake(handover: Int32Array, value: number): void {
  Atomics.store(handover, 0, value);
  Atomics.notify(handover, 0);
}
