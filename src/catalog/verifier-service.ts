import { Worker } from 'node:worker_threads';
import type { EpisodeFileSource, FileJournal } from '../feeders/file-journal.js';
import type { EpisodeStatus } from '../protocol/api.js';
import { dict } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { workerFile } from '../util/worker-url.js';
import type { Db } from './db.js';
import { toDiskFile } from './disk-sync-fs.js';
import { PENDING_SQL, pendingByHost } from './episodes-query.js';
import { readVerifierCounts, type VerifierCounts } from './verifier-counts.js';
import type { VerifierCommand, VerifierMessage, VerifierWorkerData } from './verifier-protocol.js';

export type StatusCounts = Partial<Record<EpisodeStatus, number>>;

/** Integrity counts over the catalog: indexed episodes by status, plus unindexed files. */
export interface IntegrityCounts {
  total: StatusCounts;
  hosts: Record<string, StatusCounts>;
}

export interface IntegrityVerifierOptions {
  dataRoot: string;
  stateDir: string;
  logger: Logger;
  /** @default 1000 */
  pollIntervalMs?: number;
  /** @default 60000 */
  rescanIntervalMs?: number;
  /** @default 32 MiB/s */
  bytesPerSecond?: number;
  /** Told of every failure (a cycle's or the thread's), to notice a corrupt catalog. */
  onError?: (err: unknown) => void;
  /**
   * The episode files as the host-folder feeder lists them: the files that changed are posted to
   * the thread (at each poke, and every poll interval), which then lists `episodes/` only for its
   * full listing every rescan interval. Without it, the thread lists the folders after each poke.
   */
  files?: EpisodeFileSource;
}

export interface IntegrityVerifierStats {
  running: boolean;
  cycles: number;
  rows_synced_total: number;
  files_hashed_total: number;
  bytes_hashed_total: number;
  errors_total: number;
}

/**
 * The verifier thread's young generation, in MiB (V8's default lets it grow to 48: two 16 MiB
 * semi-spaces and room for large objects). Its work is a walk over catalog rows and file hashes,
 * whose objects live for one step; left at the default, the walk over a 1M-row catalog grew it to
 * its maximum, ≈ 32 MiB resident, kept after the walk. 6 MiB: semi-spaces of 2 MiB.
 */
export const VERIFIER_YOUNG_GENERATION_MB = 6;

/**
 * Runs the integrity thread (`verifier-worker.ts`) and reports its progress. The results live in
 * the catalog: read them with `integrityCounts(db)` and the explorer's queries.
 */
export class IntegrityVerifier {
  private worker: Worker | null = null;
  private stopping: Promise<void> | null = null;
  private readonly counters = { cycles: 0, rows: 0, files: 0, bytes: 0, errors: 0 };
  private cycleListeners: Array<() => void> = [];
  /** The feeder's changes not posted to the thread yet (with `options.files`). */
  private journal: FileJournal | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  /** The thread's latest counts (null until its first). */
  private counts: VerifierCounts | null = null;

  constructor(private readonly options: IntegrityVerifierOptions) {}

  start(): void {
    // Before the thread's first listing: a change from now on is in it, or posted after it, or both.
    this.journal = this.options.files?.journal() ?? null;
    const data: VerifierWorkerData = {
      dataRoot: this.options.dataRoot,
      stateDir: this.options.stateDir,
      pollIntervalMs: this.options.pollIntervalMs ?? 1000,
      rescanIntervalMs: this.options.rescanIntervalMs ?? 60_000,
      bytesPerSecond: this.options.bytesPerSecond ?? 32 * 1024 * 1024,
      fed: this.journal !== null,
    };
    const worker = new Worker(workerFile('./verifier-worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: VERIFIER_YOUNG_GENERATION_MB },
    });
    this.worker = worker;
    worker.on('message', (m: VerifierMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      this.options.onError?.(err);
      this.options.logger.error({ err }, 'integrity verifier failed');
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      if (code !== 0 && !this.stopping) this.options.logger.error({ code }, 'integrity verifier exited');
    });
    if (this.journal) {
      // Files gone bring no poke: they go with the next of these.
      this.flushTimer = setInterval(() => this.postFiles(), data.pollIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Posts the files changed since the last post to the thread (fed mode). */
  private postFiles(): void {
    if (!this.journal || this.journal.size === 0) return;
    const { entered, gone } = this.journal.take();
    const changes = { upserts: entered.map(toDiskFile), removals: [...gone] };
    this.worker?.postMessage({ type: 'files', changes } satisfies VerifierCommand);
  }

  /** New episode files appeared: list the folder now instead of at the next rescan. */
  poke(): void {
    if (this.journal) this.postFiles();
    else this.worker?.postMessage({ type: 'poke' } satisfies VerifierCommand);
  }

  /** The thread's latest counts, for `integrityCounts` (null until it has counted). */
  latestCounts(): VerifierCounts | null {
    return this.counts;
  }

  /** Resolves after the next complete cycle (tests and tools that want a settled catalog). */
  nextCycle(): Promise<void> {
    return new Promise((resolve) => this.cycleListeners.push(resolve));
  }

  stats(): IntegrityVerifierStats {
    const c = this.counters;
    return {
      running: this.worker !== null,
      cycles: c.cycles,
      rows_synced_total: c.rows,
      files_hashed_total: c.files,
      bytes_hashed_total: c.bytes,
      errors_total: c.errors,
    };
  }

  /** Stops the thread after its current step; resolves when its database is closed. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopping = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), 4000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ type: 'stop' } satisfies VerifierCommand);
    });
    return this.stopping;
  }

  private onMessage(m: VerifierMessage): void {
    switch (m.type) {
      case 'cycle': {
        this.counters.cycles++;
        this.counters.rows += m.rowsSynced;
        this.counters.files += m.hashed;
        this.counters.bytes += m.hashedBytes;
        const listeners = this.cycleListeners;
        this.cycleListeners = [];
        for (const l of listeners) l();
        break;
      }
      case 'counts':
        this.counts = m.counts;
        break;
      case 'error':
        this.counters.errors++;
        this.options.onError?.(m);
        this.options.logger.warn({ message: m.message }, 'integrity verifier cycle failed; retrying');
        break;
      case 'stopped':
        break;
      default: {
        const _exhaustive: never = m;
      }
    }
  }
}

function add(into: StatusCounts, status: EpisodeStatus, n: number): void {
  if (n !== 0) into[status] = (into[status] ?? 0) + n;
}

/**
 * Integrity counts, overall and per host, from the catalog. Cheap once the verifier has caught
 * up (small tables); index rows it has not reached yet are counted as `unverified` from their
 * rowid range (a full pass only while a large backlog is being classified).
 */
export function integrityCounts(db: Db, posted: VerifierCounts | null = null): IntegrityCounts {
  const total: StatusCounts = {};
  const hosts = dict<StatusCounts>();
  const bump = (host: string, status: EpisodeStatus, n: number) => {
    if (n === 0) return;
    add(total, status, n);
    hosts[host] ??= {};
    add(hosts[host], status, n);
  };
  let counted: VerifierCounts['counted'];
  let unindexed: VerifierCounts['unindexed'];
  let pending: Array<{ host_id: string; n: number }>;
  if (posted) {
    // The thread's counts as of its last commit; index rows past them are still unverified.
    ({ counted, unindexed } = posted);
    const classified = new Map<string, number>();
    for (const r of counted) classified.set(r.host_id, (classified.get(r.host_id) ?? 0) + r.n);
    const totals = db.prepare('SELECT host_id, episodes FROM host_totals').all() as Array<{
      host_id: string;
      episodes: number;
    }>;
    pending = totals.map((t) => ({ host_id: t.host_id, n: t.episodes - (classified.get(t.host_id) ?? 0) }));
  } else {
    // One snapshot: the verifier thread may commit between two statements.
    ({ counted, unindexed, pending } = db.transaction(() => ({
      ...readVerifierCounts(db),
      // Per host from the running totals: never a walk over the rows past the watermark.
      pending: pendingByHost(db.prepare(PENDING_SQL)),
    }))());
  }
  for (const r of counted) bump(r.host_id, r.status, r.n);
  for (const r of pending) if (r.n > 0) bump(r.host_id, 'unverified', r.n);
  for (const r of unindexed) bump(r.host_id, 'unindexed', r.n);
  return { total, hosts };
}
