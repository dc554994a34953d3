import path from 'node:path';
import type { Db } from '../catalog/db.js';
import {
  diffListings,
  type EpisodeFile,
  type HostListing,
  isListed,
  scanHosts,
} from '../feeders/episode-files.js';
import type { EpisodeFileSource, FileJournal } from '../feeders/file-journal.js';
import type { PhaseMix } from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { aggregateEpisode, metaEndNs } from './aggregate.js';
import {
  type CachedEpisode,
  MemoryPhaseCache,
  type PhaseCacheStore,
  SqlitePhaseCache,
  sharedPhaseCounts,
} from './cache.js';
import { readEpisode } from './episode-file.js';
import type { EpisodeReadOptions } from './episode-reader.js';
import { hostMix, type MixResult, MixTotals } from './mix.js';
import { createYielder, type Yielder } from './yielder.js';

export interface PhaseMixServiceOptions {
  dataRoot: string;
  /** The catalog; the per-episode cache lives in its `phase_cache` table. Null: in memory only. */
  db?: Db | null;
  logger: Logger;
  /** `all` covers every episode; a number keeps the seed's random sample of that many. */
  sample: number | 'all';
  /** Called with every recomputed mix (merge into the state, emit a `phase_mix` event). */
  publish(mix: PhaseMix): void;
  /** Periodic refresh. @default 600_000 */
  intervalMs?: number;
  /** A refresh runs this long after the first `notifyNewEpisodes()` of a burst. @default 2_000 */
  debounceMs?: number;
  /** Bounds for reading one episode. */
  read?: Omit<EpisodeReadOptions, 'members'>;
  /** The clock of `computed_at` and of `fullScanMs`. @default () => new Date() (monotonic for scans) */
  now?: () => Date;
  /** Random source for sample mode. @default Math.random */
  random?: () => number;
  /** Longest stretch a refresh holds the event loop before letting it run. @default 10 */
  sliceMs?: number;
  /**
   * How often a refresh re-`stat`s every file (to catch a tarball rewritten in place); in between,
   * files already listed keep their size and mtime and only new names are looked at.
   * @default intervalMs
   */
  fullScanMs?: number;
  /** Called after each completed refresh with its duration (the refresh-time histogram). */
  observeRefresh?(seconds: number): void;
  /**
   * The episode files as the host-folder feeder keeps them: a refresh then takes the files that
   * changed since the last one from its journal instead of listing `episodes/` itself (a burst of
   * 200,000 arrivals costs each refresh its own arrivals, not a listing of the whole folder), and
   * a file rewritten in place is seen by the feeder's full rescans (`fullScanMs` is unused).
   * Without it, the service lists the folders itself.
   */
  files?: EpisodeFileSource;
}

/** What changed in the population since the last refresh, and how to look at it as it is now. */
interface PopulationChanges {
  left: EpisodeFile[];
  entered: EpisodeFile[];
  /** Episode files now. */
  population: number;
  /** Whether the file at `rel` of `host` is in the population now. */
  listed(host: string, rel: string): boolean;
  /** Every file now. */
  all(): EpisodeFile[];
}

export interface PhaseMixRefreshStats {
  /** Episode files on disk. */
  population: number;
  /** Episodes taken into account (population, or the sample). */
  considered: number;
  /** Tarballs opened and read in this refresh (new or changed). */
  files_read: number;
  /** Taken from the cache. */
  files_cached: number;
  /** Cache entries dropped because their file is gone. */
  files_removed: number;
  /** Every file was stat'ed (else only new names). */
  full_scan: boolean;
  duration_ms: number;
  finished_at: string;
}

/** For `/metrics`. */
export interface PhaseMixStats {
  refreshes_total: number;
  refresh_errors_total: number;
  episodes_read_total: number;
  /** Episodes skipped when read, by reason, since start (each file once). */
  skipped_read_total: Record<string, number>;
  cache_entries: number;
  last_refresh: PhaseMixRefreshStats | null;
}

/** Skipped-episode warnings logged per reason and minute before they are only counted. */
const SKIP_WARNINGS_PER_MINUTE = 5;

/** Cache writes are committed in batches of this many episodes. */
const WRITE_BATCH = 256;
/** Cache rows held back by a busy write lock are tried again this often. */
const RETRY_WRITE_MS = 1000;

/**
 * Keeps the dataset phase mix: every episode (or a random sample), each tarball read once and
 * cached by path, size and mtime. Refreshes on a timer and shortly after new episodes land;
 * concurrent requests coalesce; the work yields to the event loop every few milliseconds.
 */
export class PhaseMixService {
  private readonly opts: PhaseMixServiceOptions;
  private readonly log: Logger;
  /** Skipped episodes: the first few per reason each minute, then a count (see RateLimitedLog). */
  private readonly skipLog: RateLimitedLog;
  private readonly store: PhaseCacheStore;
  private cache: Map<string, CachedEpisode> | null = null;
  /** Per host folder: its episode files and its mtime when listed (unchanged ones are not read). */
  private readonly listings = new Map<string, HostListing>();
  /** The changes of `options.files` since the last refresh took them. */
  private readonly journal: FileJournal | null;
  /** When every file was last stat'ed. */
  private lastFullScan = Number.NEGATIVE_INFINITY;
  /**
   * With `sample: 'all'`, the totals of exactly the cached entries of the listed files (null while
   * a refresh runs, or after one that did not finish: the next one then rebuilds them).
   */
  private totals: MixTotals | null = null;
  private result: MixResult | null = null;
  private running: Promise<PhaseMix> | null = null;
  private queued: Promise<PhaseMix> | null = null;
  private interval: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private stopped = false;
  /** A retry of cache rows the catalog's write lock held back. */
  private retry: NodeJS.Timeout | null = null;
  private readonly counters: PhaseMixStats = {
    refreshes_total: 0,
    refresh_errors_total: 0,
    episodes_read_total: 0,
    skipped_read_total: {},
    cache_entries: 0,
    last_refresh: null,
  };

  constructor(options: PhaseMixServiceOptions) {
    this.opts = options;
    this.log = options.logger.child({ component: 'phase-mix' });
    this.skipLog = new RateLimitedLog(this.log, SKIP_WARNINGS_PER_MINUTE);
    this.store = options.db ? new SqlitePhaseCache(options.db) : new MemoryPhaseCache();
    this.journal = options.files?.journal() ?? null;
  }

  /** First refresh now, then every `intervalMs`. */
  start(): void {
    this.stopped = false;
    void this.refreshLogged();
    this.interval = setInterval(() => void this.refreshLogged(), this.opts.intervalMs ?? 600_000);
    this.interval.unref();
  }

  /** Stops the timers and waits for a refresh in flight (which stops between episodes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    if (this.debounce) clearTimeout(this.debounce);
    this.interval = null;
    this.debounce = null;
    await Promise.allSettled([this.running, this.queued]);
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    // A last try for rows the write lock held back; if it is still busy they are read again next
    // start (it is a cache).
    this.store.write([], []);
    this.skipLog.flush();
  }

  /**
   * Recomputes the mix and publishes it. A call while a refresh runs shares one follow-up refresh
   * (which sees files that landed after the running one listed the folder).
   */
  refresh(): Promise<PhaseMix> {
    if (this.running === null) return this.startRun();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.startRun();
      });
    return this.queued;
  }

  /**
   * New episodes landed: refresh `debounceMs` after the first notice of a burst. The timer is not
   * pushed back by later notices, so a steady stream of arrivals cannot postpone it forever.
   */
  notifyNewEpisodes(): void {
    if (this.stopped || this.debounce !== null) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.refreshLogged();
    }, this.opts.debounceMs ?? 2_000);
    this.debounce.unref();
  }

  /** The latest mix; with `host`, that host's breakdown shaped as a mix (null if no such host). */
  current(host?: string): PhaseMix | null {
    if (this.result === null) return null;
    return host === undefined ? this.result.mix : hostMix(this.result, host);
  }

  stats(): PhaseMixStats {
    return {
      ...this.counters,
      skipped_read_total: { ...this.counters.skipped_read_total },
      cache_entries: this.cache?.size ?? 0,
    };
  }

  private startRun(): Promise<PhaseMix> {
    const run = this.runOnce().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async refreshLogged(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      this.log.error({ err, reason: errorMessage(err) }, 'phase mix refresh failed');
    }
  }

  private async runOnce(): Promise<PhaseMix> {
    const started = performance.now();
    try {
      return await this.compute(started);
    } catch (err) {
      this.counters.refresh_errors_total++;
      throw err;
    }
  }

  private async compute(started: number): Promise<PhaseMix> {
    const yielder = createYielder(this.opts.sliceMs);
    this.cache ??= this.store.load();
    const cache = this.cache;
    const everything = this.opts.sample === 'all';
    // No totals: the first refresh, or the last one failed or was stopped half-way (its listings
    // may be ahead of its totals). Either way, start over from a full scan.
    const fullScan =
      this.totals === null ||
      (this.journal === null
        ? this.clockMs() - this.lastFullScan >= (this.opts.fullScanMs ?? this.opts.intervalMs ?? 600_000)
        : !everything);
    const previous = this.totals;
    this.totals = null;
    const { left, entered, population, listed, all } = await this.populationChanges(fullScan, yielder);

    // Every episode: the running totals take out what left and add what entered (on a full scan,
    // everything enters fresh totals). A sample is drawn anew each time, so it starts from zero.
    const totals = fullScan || !everything || previous === null ? new MixTotals() : previous;
    const removed: string[] = [];
    for (const file of left) {
      if (yielder.due()) await yielder.pause();
      if (everything) {
        totals.applyPopulation(file.host, -1);
        const entry = cache.get(file.rel);
        if (entry) totals.applyEpisode(entry, -1);
      }
      if (!listed(file.host, file.rel)) {
        cache.delete(file.rel);
        removed.push(file.rel);
      }
    }
    if (fullScan) {
      for (const [rel, entry] of cache) {
        if (yielder.due()) await yielder.pause();
        if (listed(entry.host, rel)) continue;
        cache.delete(rel);
        removed.push(rel);
      }
    }

    let chosen: EpisodeFile[] = entered;
    if (!everything) {
      const files = all();
      // Sorted: the same random draws pick the same files whatever order the folders list in.
      files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      for (const f of files) totals.applyPopulation(f.host, 1);
      chosen = this.choose(files);
    }

    let pending: CachedEpisode[] = [];
    let pendingRemovals = removed;
    let read = 0;
    for (const file of chosen) {
      if (this.stopped) break;
      let entry = cache.get(file.rel);
      if (!entry || entry.retry || entry.size !== file.size || entry.mtimeMs !== file.mtimeMs) {
        const again = entry?.retry === true;
        entry = await this.readOne(file, yielder, again);
        cache.set(file.rel, entry);
        if (!entry.retry) pending.push(entry);
        read++;
        if (pending.length >= WRITE_BATCH) {
          this.flush(pending, pendingRemovals);
          pending = [];
          pendingRemovals = [];
        }
      }
      if (everything) totals.applyPopulation(file.host, 1);
      totals.applyEpisode(entry, 1);
      if (yielder.due()) await yielder.pause();
    }
    this.flush(pending, pendingRemovals);

    const considered = everything ? population : chosen.length;
    const result = totals.toResult(this.opts.sample, (this.opts.now?.() ?? new Date()).toISOString());
    const stats: PhaseMixRefreshStats = {
      population,
      considered,
      files_read: read,
      files_cached: considered - read,
      files_removed: removed.length,
      full_scan: fullScan,
      duration_ms: performance.now() - started,
      finished_at: result.mix.computed_at,
    };
    this.counters.last_refresh = stats;
    if (this.stopped) return this.result?.mix ?? result.mix; // cut short: publish nothing partial
    this.totals = totals;
    this.counters.refreshes_total++;
    this.opts.observeRefresh?.(stats.duration_ms / 1000);
    this.result = result;
    this.log.info(
      {
        population: stats.population,
        sampled: result.mix.sampled_episodes,
        read: stats.files_read,
        cached: stats.files_cached,
        removed: stats.files_removed,
        skipped: result.mix.skipped,
        ms: Math.round(stats.duration_ms),
      },
      'phase mix refreshed',
    );
    this.opts.publish(result.mix);
    return result.mix;
  }

  /**
   * The files that left and entered since the last refresh (on a full scan: every file entered),
   * from the feeder's journal when there is one, else from this service's own listing.
   */
  private async populationChanges(fullScan: boolean, yielder: Yielder): Promise<PopulationChanges> {
    const source = this.opts.files;
    if (source && this.journal) {
      // One turn: the listing copied (or the journal taken) and the population counted together.
      const listings = source.listings();
      let population = 0;
      for (const listing of listings.values()) population += listing.files.size;
      if (fullScan) {
        this.journal.take(); // Everything is read from the listing now.
        const files: EpisodeFile[] = [];
        for (const listing of listings.values()) for (const f of listing.files.values()) files.push(f);
        // As listed now: a file gone since the copy leaves the cache, is read as gone, and leaves
        // the totals (with that entry) when the journal brings it next time.
        const listed = (host: string, rel: string) => isListed(source.listings(), host, rel);
        return { left: [], entered: files, population, listed, all: () => files };
      }
      const { left, entered, gone } = this.journal.take();
      return { left, entered, population, listed: (_h, rel) => !gone.has(rel), all: () => [] };
    }
    if (fullScan) this.listings.clear();
    const changes = await scanHosts(this.opts.dataRoot, this.listings, fullScan);
    if (fullScan) this.lastFullScan = this.clockMs();
    const { left, entered } = await diffListings(changes, this.listings, yielder);
    let population = 0;
    for (const listing of this.listings.values()) population += listing.files.size;
    return {
      left,
      entered,
      population,
      listed: (host, rel) => isListed(this.listings, host, rel),
      all: () => {
        const files: EpisodeFile[] = [];
        for (const listing of this.listings.values()) for (const f of listing.files.values()) files.push(f);
        return files;
      },
    };
  }

  /** Times full scans: the injected clock when there is one (tests), else the monotonic one. */
  private clockMs(): number {
    return this.opts.now ? this.opts.now().getTime() : performance.now();
  }

  private flush(put: CachedEpisode[], remove: string[]): void {
    this.store.write(put, remove);
    for (const e of put) delete e.meta;
    // The write lock was busy (another thread's transaction): the rows are kept and tried again.
    if ((this.store.pending?.() ?? 0) > 0 && this.retry === null && !this.stopped) {
      this.retry = setTimeout(() => {
        this.retry = null;
        this.flush([], []);
      }, RETRY_WRITE_MS);
      this.retry.unref();
    }
  }

  /** All files, or the seed's random sample (`random.sample`) when a smaller N is asked for. */
  private choose(files: EpisodeFile[]): EpisodeFile[] {
    const n = this.opts.sample;
    if (n === 'all' || n >= files.length) return files;
    const random = this.opts.random ?? Math.random;
    const pool = [...files];
    const k = Math.max(0, Math.floor(n));
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      const tmp = pool[i] as EpisodeFile;
      pool[i] = pool[j] as EpisodeFile;
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  }

  /** `again`: the file failed to read last time for a reason of the file system's (`retry`). */
  private async readOne(file: EpisodeFile, yielder: Yielder, again = false): Promise<CachedEpisode> {
    const contents = await readEpisode(
      path.join(this.opts.dataRoot, file.rel),
      this.opts.read ?? {},
      yielder,
    );
    this.counters.episodes_read_total++;
    const base = {
      rel: file.rel,
      host: file.host,
      size: file.size,
      mtimeMs: file.mtimeMs,
      meta: contents.meta,
    };
    if (contents.labels === null) {
      const reason = contents.error ?? 'no_labels';
      const retry = contents.transient ? ({ retry: true } as const) : {};
      // Once per file (the failure is cached until the file changes; one the file system caused
      // is read again at each refresh, and counted and logged the first time only), and a few
      // per reason.
      if (!again) {
        const skipped = this.counters.skipped_read_total;
        skipped[reason] = (skipped[reason] ?? 0) + 1;
        this.skipLog.warn(
          reason,
          { file: file.rel, reason, detail: contents.errorDetail },
          'phase mix: episode skipped',
        );
      }
      return { ...base, ...retry, status: reason, counts: sharedPhaseCounts({}), seconds: {}, labels: 0 };
    }
    if (contents.error !== null) {
      this.log.debug(
        { file: file.rel, reason: contents.error, detail: contents.errorDetail },
        'phase mix: labels read, rest of episode unreadable',
      );
    }
    const totals = aggregateEpisode(contents.labels, metaEndNs(contents.meta));
    return { ...base, status: 'ok', ...totals, counts: sharedPhaseCounts(totals.counts) };
  }
}
