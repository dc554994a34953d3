/**
 * The first pass's scanner thread, started ahead of need (`prestartScanner`): imported by the CLI's
 * first module, so this file imports next to nothing — the thread starts before the server's own
 * modules are read.
 */
import { Worker } from 'node:worker_threads';
import { type PrestartedWorker, prestartWorker } from '../util/prestarted-worker.js';
import { workerFile } from '../util/worker-url.js';
import { SCANNER_READY } from './first-pass-protocol.js';

export const newScannerWorker = () => new Worker(workerFile('./first-pass-worker.js', import.meta.url));

/** A scanner thread started ahead of need (`prestartScanner`), not given a pass yet. */
let prestarted: PrestartedWorker | null = null;

/**
 * Starts the first pass's scanner thread now, before a pass is known to be needed: its own start
 * (loading its modules, ≈ 0.15 s) then runs on the other core while this thread is still loading
 * and opening the server, and the pass's ranges go to a thread that is ready. The next ranged
 * pass takes it; a start that has none ends it (`releasePrestartedScanner`, or after 10 s).
 * Resolves once the thread's modules are loaded (callers need not wait).
 */
export function prestartScanner(): Promise<void> {
  prestarted ??= prestartWorker(newScannerWorker, { readyMessage: SCANNER_READY });
  return prestarted?.ready ?? Promise.resolve();
}

/** Ends the prestarted scanner thread, if one is waiting unused. */
export function releasePrestartedScanner(): void {
  prestarted?.release();
  prestarted = null;
}

/** The prestarted scanner thread, if one is waiting and alive (the caller owns it then). */
export function takePrestartedScanner(): Worker | null {
  const held = prestarted;
  prestarted = null;
  return held?.take() ?? null;
}
