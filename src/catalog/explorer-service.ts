import { Worker } from 'node:worker_threads';
import { errnoCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { PEER_GRACE_MS } from '../util/stop-budget.js';
import { workerFile } from '../util/worker-url.js';
import type { Db } from './db.js';
import { EpisodeQueries } from './episodes-query.js';
import type {
  ExplorerCommand,
  ExplorerMethod,
  ExplorerReads,
  ExplorerReply,
  ExplorerWorkerData,
} from './explorer-protocol.js';

export type { ExplorerReads } from './explorer-protocol.js';

/**
 * A read the explorer thread could not answer: its SQLite error's message and code (so a corrupt
 * or unreadable catalog is told apart as on the main thread: state/errors.ts `storageFault`), or
 * `explorer_thread_exit` when the thread ended under it.
 */
export class ExplorerReadError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ExplorerReadError';
  }
}

export interface ExplorerThreadOptions {
  /** The state dir whose catalog the thread reads. */
  stateDir: string;
  logger: Logger;
  /** A thread with no read for this long is ended; the next read starts one. @default 30000 */
  idleEndMs?: number;
  /** Called once an idle thread has ended (the process-wide malloc trim of what it freed). */
  afterIdleEnd?: () => void;
}

export interface ExplorerThreadStats {
  running: boolean;
  calls_total: number;
  errors_total: number;
  thread_starts_total: number;
}

/** `idleEndMs` by default. */
export const EXPLORER_IDLE_END_MS = 30_000;
/**
 * The thread's young generation, in MiB: a call's objects (a page of ≤ 500 rows, a `q`'s
 * matches, facets) live for one call. Left at V8's default it may grow to 48 MiB and keep it.
 */
const EXPLORER_YOUNG_GENERATION_MB = 8;

interface Pending {
  worker: Worker;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * The explorer's reads on their own thread (`explorer-worker.ts`, a read-only connection to the
 * catalog). On the main thread a read held the event loop for as long as SQLite took: facets of
 * an id prefix matching most of a 1M-row catalog took 1.2–2.2 s, and every WebSocket push, the
 * wall's included, waited behind it. Here a long read delays only the explorer reads queued
 * behind it (one at a time, in order).
 *
 * Started by the first read, ended after `idleEndMs` without one (an idle V8 isolate and page
 * cache held ≈ 15–20 MiB for nothing): the thread costs nothing on a dashboard nobody explores.
 */
export class ExplorerThread implements ExplorerReads {
  private worker: Worker | null = null;
  /** Threads asked to end that have not exited yet (`stop` waits for them too). */
  private readonly exiting = new Set<Promise<void>>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly counters = { calls: 0, errors: 0, starts: 0 };
  private readonly idleEndMs: number;

  constructor(private readonly options: ExplorerThreadOptions) {
    this.idleEndMs = options.idleEndMs ?? EXPLORER_IDLE_END_MS;
  }

  page(...args: Parameters<EpisodeQueries['page']>) {
    return this.call<ReturnType<EpisodeQueries['page']>>('page', args);
  }

  pageSorted(...args: Parameters<EpisodeQueries['pageSorted']>) {
    return this.call<ReturnType<EpisodeQueries['pageSorted']>>('pageSorted', args);
  }

  facets(...args: Parameters<EpisodeQueries['facets']>) {
    return this.call<ReturnType<EpisodeQueries['facets']>>('facets', args);
  }

  phaseFacets(...args: Parameters<EpisodeQueries['phaseFacets']>) {
    return this.call<ReturnType<EpisodeQueries['phaseFacets']>>('phaseFacets', args);
  }

  stats(): ExplorerThreadStats {
    return {
      running: this.worker !== null,
      calls_total: this.counters.calls,
      errors_total: this.counters.errors,
      thread_starts_total: this.counters.starts,
    };
  }

  /**
   * Ends the thread: reads already posted are answered first (the stop is queued behind them; a
   * thread still busy after PEER_GRACE_MS is terminated and its reads refused). Later reads are refused.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    await this.end();
    // A thread ended while idle may still be exiting.
    await Promise.all(this.exiting);
  }

  private call<T>(method: ExplorerMethod, args: unknown[]): Promise<T> {
    if (this.stopped)
      return Promise.reject(new ExplorerReadError('the explorer is stopping', 'explorer_stopped'));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const worker = this.worker ?? this.startThread();
    const id = this.nextId++;
    this.counters.calls++;
    return new Promise<T>((resolve, reject) => {
      try {
        worker.postMessage({ type: 'call', id, method, args } satisfies ExplorerCommand);
      } catch (err) {
        // Arguments that cannot be copied to the thread (a direct caller's: the routes pass
        // parsed filters): refused here, never left pending (which kept the thread from its idle end).
        this.counters.errors++;
        reject(
          new ExplorerReadError(
            `cannot pass the read to the explorer thread: ${errorMessage(err)}`,
            'explorer_bad_call',
          ),
        );
        this.armIdleEnd();
        return;
      }
      this.pending.set(id, { worker, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private startThread(): Worker {
    const worker = new Worker(workerFile('./explorer-worker.js', import.meta.url), {
      workerData: { stateDir: this.options.stateDir } satisfies ExplorerWorkerData,
      resourceLimits: { maxYoungGenerationSizeMb: EXPLORER_YOUNG_GENERATION_MB },
    });
    this.worker = worker;
    this.counters.starts++;
    worker.on('message', (reply: ExplorerReply) => this.onReply(reply));
    // What ended it (an uncaught error: e.g. the catalog could not be opened), for the reads it
    // leaves unanswered.
    let failure: unknown = null;
    worker.on('error', (err) => {
      failure = err;
      this.options.logger.error({ err }, 'explorer thread failed');
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      // Reads it had not answered: refused, not left hanging (the next read starts a thread).
      const refusal = errnoCode(failure) ?? 'explorer_thread_exit';
      const why = failure === null ? `the explorer thread exited (code ${code})` : errorMessage(failure);
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue;
        this.pending.delete(id);
        this.counters.errors++;
        p.reject(new ExplorerReadError(why, refusal));
      }
      this.armIdleEnd();
    });
    return worker;
  }

  private onReply(reply: ExplorerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else {
      this.counters.errors++;
      p.reject(new ExplorerReadError(reply.message, reply.code ?? 'explorer_read_failed'));
    }
    this.armIdleEnd();
  }

  /** Once nothing is in flight, the thread is ended after `idleEndMs` unless a read comes. */
  private armIdleEnd(): void {
    if (this.pending.size > 0 || this.worker === null || this.stopped || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0) void this.end().then(() => this.options.afterIdleEnd?.());
    }, this.idleEndMs);
    this.idleTimer.unref();
  }

  /** Asks the thread to close its connection and exit (terminated if it does not within PEER_GRACE_MS: a slow read does not hold a stop). */
  private end(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.worker = null;
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), PEER_GRACE_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        this.exiting.delete(exited);
        resolve();
      });
      worker.postMessage({ type: 'stop' } satisfies ExplorerCommand);
    });
    this.exiting.add(exited);
    return exited;
  }
}

/**
 * The explorer's reads on the caller's thread, over `db`: for a catalog no other thread can open
 * (in memory) and a replica's, which its own routes read.
 */
export function inlineExplorer(db: Db): ExplorerReads {
  const q = new EpisodeQueries(db);
  return {
    page: async (...args) => q.page(...args),
    pageSorted: async (...args) => q.pageSorted(...args),
    facets: async (...args) => q.facets(...args),
    phaseFacets: async (...args) => q.phaseFacets(...args),
  };
}
