import type { Worker } from 'node:worker_threads';

/**
 * A worker thread started before anyone asked for it. A thread's own start — a V8 isolate, Node's
 * bootstrap, its modules — costs ≈ 0.1–0.3 s of CPU; begun while the main thread is still loading
 * the server, it runs on the other core, which is idle then, rather than in the cold start's first
 * pass, when both cores are busy. The first `take` owns the thread; one nobody takes is ended
 * after `unusedMs` (or by `release`), and keeps nothing alive meanwhile.
 */
export interface PrestartedWorker {
  /** The thread's id (`Worker.threadId`). */
  readonly threadId: number;
  /** Resolves once the thread posted its `readyMessage` (its modules are loaded), or is gone. */
  readonly ready: Promise<void>;
  /** The thread, if it is alive and nobody took it; the caller owns it then (it is ref'd again). */
  take(): Worker | null;
  /** Ends the thread if nobody took it. */
  release(): void;
}

export interface PrestartOptions {
  /** The message the thread posts once its modules are loaded (no message: `ready` waits for nothing). */
  readyMessage?: unknown;
  /** An unused thread is ended after this long (a start that never needed it). */
  unusedMs?: number;
  /** Called before an unused thread is terminated (e.g. to wake a thread that waits for its data). */
  beforeEnd?: (worker: Worker) => void;
}

const UNUSED_MS = 10_000;

/** Starts a thread with `make` now; null when it cannot be started. */
export function prestartWorker(make: () => Worker, options: PrestartOptions = {}): PrestartedWorker | null {
  let worker: Worker | null;
  try {
    worker = make();
  } catch {
    return null;
  }
  const started = worker;
  let gone = false;
  const ready = new Promise<void>((resolve) => {
    if (options.readyMessage === undefined) resolve();
    else started.on('message', (m) => m === options.readyMessage && resolve());
    started.once('exit', () => resolve());
  });
  const markGone = () => {
    gone = true;
  };
  started.on('error', markGone);
  started.on('exit', markGone);
  // Idle until taken: it keeps nothing alive.
  started.unref();
  const release = () => {
    const w = worker;
    worker = null;
    clearTimeout(timer);
    if (!w || gone) return;
    options.beforeEnd?.(w);
    void w.terminate();
  };
  const timer = setTimeout(release, options.unusedMs ?? UNUSED_MS);
  timer.unref();
  return {
    threadId: started.threadId,
    ready,
    take() {
      const w = worker;
      worker = null;
      clearTimeout(timer);
      if (!w || gone) return null;
      w.ref();
      return w;
    },
    release,
  };
}
