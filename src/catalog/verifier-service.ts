import { Worker } from 'node:worker_threads';
import type { EpisodeFileSource, FileJournal } from '../feeders/file-journal.js';
import type { EpisodeStatus } from '../protocol/api.js';
import { dict } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { workerFile } from '../util/worker-url.js';
import type { Db } from './db.js';
import { toDiskFile } from './disk-sync-fs.js';
import { PENDING_SQL, pendingByHost } from './episodes-query.js';
import { COUNTED_SQL, readVerifierCounts, type VerifierCounts } from './verifier-counts.js';
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
  /**
   * The thread is ended once its cycles have found nothing to do for this long (fed mode), and
   * started again when there is: `thread lifetime` below. 0 keeps it for good. @default 10000
   */
  idleEndMs?: number;
  /** Called once an idle thread has ended (the process-wide malloc trim of what it freed). */
  afterIdleEnd?: () => void;
  /** Called each time the thread posts its counts (it counted again after a change). */
  onCounts?: () => void;
}

export interface IntegrityVerifierStats {
  running: boolean;
  cycles: number;
  rows_synced_total: number;
  files_hashed_total: number;
  bytes_hashed_total: number;
  errors_total: number;
  /** Indexed episode files that could not be read to hash (each once until it changes or reads). */
  unreadable_files_total: number;
  /** Threads started: the first, and one each time work came for a thread ended while idle. */
  thread_starts_total: number;
}

/**
 * The verifier thread's young generation, in MiB (V8's default lets it grow to 48: two 16 MiB
 * semi-spaces and room for large objects). Its work is a walk over catalog rows and file hashes,
 * whose objects live for one step; left at the default, the walk over a 1M-row catalog grew it to
 * its maximum, ≈ 32 MiB resident, kept after the walk. 6 MiB: semi-spaces of 2 MiB.
 */
export const VERIFIER_YOUNG_GENERATION_MB = 6;

/** `idleEndMs` by default: how long a thread with nothing to do is kept. */
export const VERIFIER_IDLE_END_MS = 10_000;
/**
 * Work that comes back within this long after the thread ended doubles the next thread's idle time
 * (up to VERIFIER_IDLE_END_MAX_MS): a lab whose episodes come every minute keeps its thread
 * instead of starting one a minute. Work after a longer quiet resets it to `idleEndMs`.
 */
export const VERIFIER_RESTART_SOON_MS = 120_000;
export const VERIFIER_IDLE_END_MAX_MS = 600_000;

/**
 * Runs the integrity thread (`verifier-worker.ts`) and reports its progress. The results live in
 * the catalog: read them with `integrityCounts(db)` and the explorer's queries.
 */
export class IntegrityVerifier {
  private worker: Worker | null = null;
  private stopping: Promise<void> | null = null;
  private readonly counters = { cycles: 0, rows: 0, files: 0, bytes: 0, errors: 0, unreadable: 0, starts: 0 };
  /**
   * Thread lifetime (fed mode). A caught-up thread only polls: a new index row, a file the feeder
   * saw change, now and then a full listing. Kept alive idle it held ≈ 15–20 MiB (its V8 isolate,
   * heap, page cache and malloc arena) for nothing; so once its cycles found nothing to do for
   * `idleEndMs` it is ended (`dormant`), and started again by the next work: a committed index
   * batch (`rowsCommitted`), a file change (the journal, which keeps the feeder's changes while no
   * thread runs) or a poke. The new thread goes on from its predecessor's full listing and the
   * catalog's watermark, so it reads only what changed (its start: ≈ 0.1–0.3 s of CPU on the other
   * core; integrity counts meanwhile are the last ones posted, new rows counted `unverified`).
   */
  private readonly idleEndBase: number;
  private idleEndMs: number;
  private idleSince: number | null = null;
  /** The thread was ended while idle (not stopped): work starts another. */
  private dormant = false;
  /** An idle end is under way (stop posted); work meanwhile starts another once it exited. */
  private ending = false;
  private wanted = false;
  private endedAt = Number.NEGATIVE_INFINITY;
  private fullListingAt = 0;
  /** `files` commands posted to the current thread (its cycles report how many it received). */
  private filesPosted = 0;
  private started = false;
  private cycleListeners: Array<() => void> = [];
  /** The feeder's changes not posted to the thread yet (with `options.files`). */
  private journal: FileJournal | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  /** The thread's latest counts (null until its first). */
  private counts: VerifierCounts | null = null;

  constructor(private readonly options: IntegrityVerifierOptions) {
    this.idleEndBase = options.idleEndMs ?? VERIFIER_IDLE_END_MS;
    this.idleEndMs = this.idleEndBase;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    // Before the thread's first listing: a change from now on is in it, or posted after it, or both.
    this.journal = this.options.files?.journal() ?? null;
    this.startThread();
    if (this.journal) {
      // Files gone bring no poke: they go with the next of these.
      this.flushTimer = setInterval(() => this.postFiles(), this.options.pollIntervalMs ?? 1000);
      this.flushTimer.unref();
    }
  }

  private startThread(): void {
    const data: VerifierWorkerData = {
      dataRoot: this.options.dataRoot,
      stateDir: this.options.stateDir,
      pollIntervalMs: this.options.pollIntervalMs ?? 1000,
      rescanIntervalMs: this.options.rescanIntervalMs ?? 60_000,
      bytesPerSecond: this.options.bytesPerSecond ?? 32 * 1024 * 1024,
      fed: this.journal !== null,
      fullListingAt: this.fullListingAt,
    };
    const worker = new Worker(workerFile('./verifier-worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: VERIFIER_YOUNG_GENERATION_MB },
    });
    this.worker = worker;
    this.counters.starts++;
    this.idleSince = null;
    this.filesPosted = 0;
    worker.on('message', (m: VerifierMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      this.options.onError?.(err);
      this.options.logger.error({ err }, 'integrity verifier failed');
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      if (this.ending && !this.stopping) {
        this.ending = false;
        this.dormant = true;
        this.endedAt = Date.now();
        this.options.afterIdleEnd?.();
        if (this.wanted) this.wake();
        else this.settleListeners();
        return;
      }
      if (code !== 0 && !this.stopping) this.options.logger.error({ code }, 'integrity verifier exited');
    });
    // Changes the journal kept while no thread ran.
    this.postFiles();
  }

  /** Work came: a thread ended while idle is started again (at once, or once the ending one exited). */
  private wake(): void {
    if (this.stopping || !this.started) return;
    if (this.ending) {
      this.wanted = true;
      return;
    }
    if (!this.dormant) return;
    this.dormant = false;
    this.wanted = false;
    // Work soon after an idle end: keep the next thread longer (a steady trickle keeps its thread).
    this.idleEndMs =
      Date.now() - this.endedAt < VERIFIER_RESTART_SOON_MS
        ? Math.min(this.idleEndMs * 2, Math.max(this.idleEndBase, VERIFIER_IDLE_END_MAX_MS))
        : this.idleEndBase;
    this.startThread();
  }

  /** Ends the thread after `idleEndMs` of cycles with nothing to do (fed mode only). */
  private noteCycle(m: Extract<VerifierMessage, { type: 'cycle' }>): void {
    const idle = m.idle && m.filesReceived === this.filesPosted;
    if (!idle || this.journal === null || this.journal.size > 0 || this.idleEndBase <= 0) {
      this.idleSince = null;
      return;
    }
    const now = Date.now();
    this.idleSince ??= now;
    if (now - this.idleSince < this.idleEndMs || this.ending || this.stopping || !this.worker) return;
    this.ending = true;
    this.worker.postMessage({ type: 'stop' } satisfies VerifierCommand);
  }

  /** Posts the files changed since the last post to the thread (fed mode); starts one if none runs. */
  private postFiles(): void {
    if (!this.journal || this.journal.size === 0) return;
    if (!this.worker || this.ending) {
      // Kept in the journal for the thread that starts now (or once the ending one exited).
      this.wake();
      return;
    }
    const { entered, gone } = this.journal.take();
    const changes = { upserts: entered.map(toDiskFile), removals: [...gone] };
    this.filesPosted++;
    this.worker.postMessage({ type: 'files', changes } satisfies VerifierCommand);
  }

  /** New episode files appeared: list the folder now instead of at the next rescan. */
  poke(): void {
    if (this.journal) this.postFiles();
    else this.worker?.postMessage({ type: 'poke' } satisfies VerifierCommand);
  }

  /** The catalog writer committed index lines: new rows to classify (starts a thread ended while idle). */
  rowsCommitted(): void {
    this.wake();
  }

  /** The thread's latest counts, for `integrityCounts` (null until it has counted). */
  latestCounts(): VerifierCounts | null {
    return this.counts;
  }

  /** Resolves after the next complete cycle (tests and tools that want a settled catalog). */
  nextCycle(): Promise<void> {
    // A thread ended while idle had nothing to do: the catalog is settled.
    if (this.dormant) return Promise.resolve();
    return new Promise((resolve) => this.cycleListeners.push(resolve));
  }

  private settleListeners(): void {
    const listeners = this.cycleListeners;
    this.cycleListeners = [];
    for (const l of listeners) l();
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
      unreadable_files_total: c.unreadable,
      thread_starts_total: c.starts,
    };
  }

  /** Stops the thread after its current step; resolves when its database is closed. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    const worker = this.worker;
    if (!worker) {
      this.stopping = Promise.resolve();
      return this.stopping;
    }
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
        this.fullListingAt = m.fullListingAt;
        this.settleListeners();
        this.noteCycle(m);
        break;
      }
      case 'counts':
        this.counts = m.counts;
        this.options.onCounts?.();
        break;
      case 'error':
        this.counters.errors++;
        this.options.onError?.(m);
        this.options.logger.warn({ message: m.message }, 'integrity verifier cycle failed; retrying');
        break;
      case 'unreadable':
        this.counters.unreadable++;
        this.options.logger.warn(
          { file: m.relPath, code: m.code, message: m.message },
          'integrity verifier: episode file unreadable; it stays unverified and is tried again',
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
    // Unindexed files as the thread last counted them (a walk of the files that may be long); the
    // classified rows from the catalog now (a row per host and status): the catalog writer
    // classifies new rows too (insert-classifier.ts), and may have while the thread was idle.
    ({ unindexed } = posted);
    ({ counted, pending } = db.transaction(() => ({
      counted: db.prepare(COUNTED_SQL).all() as VerifierCounts['counted'],
      pending: pendingByHost(db.prepare(PENDING_SQL)),
    }))());
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
