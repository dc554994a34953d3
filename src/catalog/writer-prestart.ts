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
let prestarted: { held: PrestartedWorker; handover: Int32Array } | null = null;

/**
 * Starts a catalog writer thread now, before the server knows its state dir: its start (an
 * isolate, Node's bootstrap, better-sqlite3 and the catalog's modules, ≈ 0.2 s of CPU) then runs
 * on the other core while the main thread loads the server, instead of inside the cold start's
 * first pass, when both cores are busy. Measured with the bundle, alternating against the build
 * before both (`bench/ab-boot.mjs`, 1M-line roots, load ≈ 1): the process's CPU at ready lower on
 * every style (python 2.73 against 3.34 s, compact 2.42 against 2.72), `bootstrap_seconds` itself
 * unchanged on mixed and compact (bench/HISTORY.md, twelfth session). The first writer a
 * CatalogPersister spawns takes it; one nobody takes is ended after 10 s (or by
 * `releasePrestartedCatalogWriter`). Returns its thread id (null: none could be started).
 */
export function prestartCatalogWriter(): number | null {
  if (prestarted) return prestarted.held.threadId;
  const shared = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const handover = new Int32Array(shared);
  const held = prestartWorker(
    () => new Worker(writerFile(), { workerData: { handover: shared } satisfies PrestartedWriterData }),
    {
      // It waits for its data: told none is coming, it ends itself.
      beforeEnd: () => wake(handover, WRITER_HANDOVER.released),
    },
  );
  prestarted = held ? { held, handover } : null;
  return held?.threadId ?? null;
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
