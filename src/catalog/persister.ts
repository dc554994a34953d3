import { Worker } from 'node:worker_threads';
import { markCatalogCorrupt } from '../state/catalog-file.js';
import { type StorageFault, storageFault } from '../state/errors.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { workerFile } from '../util/worker-url.js';
import type { SourceName } from './ingest-store.js';
import type { PersistCommand, PersistMessage, PersistWorkerData } from './persist-protocol.js';

export interface PersisterStats {
  committed_lines: Record<SourceName, number>;
  inserted_total: Record<SourceName, number>;
  duplicates_total: number;
  caught_up: Record<SourceName, boolean>;
  running: boolean;
  fault: CatalogFault | null;
}

/** Why the catalog cannot be written right now (the writer retries; cleared by its next commit). */
export interface CatalogFault {
  fault: StorageFault;
  /** SQLite's or the system's own words. */
  message: string;
  /** ISO-8601 time of the first failure of this run of failures. */
  since: string;
}

/**
 * Runs the catalog writer thread and reports its progress. The live feeders compare their own
 * line counts with `committed_lines` to know when every id they hold in memory is in the catalog.
 */
export class CatalogPersister {
  private worker: Worker | null = null;
  private readonly committed: Record<SourceName, number> = { index: 0, alerts: 0 };
  private readonly inserted: Record<SourceName, number> = { index: 0, alerts: 0 };
  private readonly caughtUp: Record<SourceName, boolean> = { index: false, alerts: false };
  private duplicates = 0;
  private readonly faults: Record<SourceName, CatalogFault | null> = { index: null, alerts: null };
  private stopping: Promise<void> | null = null;
  private caughtUpWaiters: Array<() => void> = [];

  constructor(
    private readonly data: PersistWorkerData,
    private readonly logger: Logger,
    private readonly onCommitted: (source: SourceName, lines: number) => void = () => {},
    /** Each commit's transaction time (the catalog commit histogram). */
    private readonly observeCommit: (source: SourceName, seconds: number) => void = () => {},
  ) {}

  start(): void {
    const worker = new Worker(workerFile('./persist-worker.js', import.meta.url), { workerData: this.data });
    this.worker = worker;
    worker.on('message', (m: PersistMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      // The thread is gone: a storage cause stays reported (no commit will clear it) until restart.
      const fault = storageFault(err);
      if (fault) this.setFault('index', fault, errorMessage(err));
      this.logger.error({ err }, 'catalog writer failed');
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      if (code !== 0 && !this.stopping) this.logger.error({ code }, 'catalog writer exited');
    });
  }

  /** Resolves once the writer has committed both files to their end at least once. */
  whenCaughtUp(): Promise<void> {
    if (this.caughtUp.index && this.caughtUp.alerts) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /** Lets the writer write (it opens its files at start but waits for this). */
  go(): void {
    this.worker?.postMessage({ type: 'go' } satisfies PersistCommand);
  }

  stats(): PersisterStats {
    return {
      committed_lines: { ...this.committed },
      inserted_total: { ...this.inserted },
      duplicates_total: this.duplicates,
      caught_up: { ...this.caughtUp },
      running: this.worker !== null,
      fault: this.fault,
    };
  }

  /** Why commits fail right now, or null when the last one succeeded. */
  get fault(): CatalogFault | null {
    return this.faults.index ?? this.faults.alerts;
  }

  private setFault(source: SourceName, fault: StorageFault, message: string): void {
    if (this.faults[source]?.fault === fault) return;
    const known = this.fault;
    const current: CatalogFault = { fault, message, since: known?.since ?? new Date().toISOString() };
    this.faults[source] = current;
    if (known?.fault === fault) return;
    this.logger.error(
      { stateDir: this.data.stateDir, fault, message },
      `the catalog in ${this.data.stateDir} cannot be written (${message}): /readyz answers 503 and the explorer an error until it can; retrying`,
    );
    // A corrupt catalog does not heal by retrying: the next start sets it aside and rebuilds it.
    if (fault === 'corrupt' && !markCatalogCorrupt(this.data.stateDir, message)) {
      this.logger.warn('cannot mark the catalog corrupt for the next start');
    }
  }

  /** Stops the writer after its current transaction; resolves when its database is closed. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopping = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn('catalog writer did not stop within 4 s; terminating it');
        void worker.terminate();
      }, 4000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ type: 'stop' } satisfies PersistCommand);
    });
    return this.stopping;
  }

  private onMessage(m: PersistMessage): void {
    switch (m.type) {
      case 'committed':
        if (this.faults[m.source]) {
          this.faults[m.source] = null;
          if (!this.fault)
            this.logger.info({ stateDir: this.data.stateDir }, 'the catalog can be written again');
        }
        this.committed[m.source] = m.lines;
        this.inserted[m.source] += m.inserted;
        this.duplicates += m.duplicates;
        this.onCommitted(m.source, m.lines);
        this.observeCommit(m.source, m.seconds);
        break;
      case 'caught_up':
        this.caughtUp[m.source] = true;
        if (this.caughtUp.index && this.caughtUp.alerts) {
          for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
        }
        break;
      case 'fault':
        this.setFault(m.source, m.fault, m.message);
        break;
      case 'error':
        // A commit failing for a storage reason is logged once as a fault, not at every retry.
        if (this.faults[m.source ?? 'index']) break;
        this.logger.warn(
          { source: m.source, message: m.message },
          'catalog writer cannot read its input; retrying',
        );
        break;
      case 'stopped':
        break;
      default: {
        const _exhaustive: never = m;
      }
    }
  }
}
