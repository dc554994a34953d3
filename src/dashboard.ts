import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Bus } from './bus/bus.js';
import { type Db, openDatabase } from './catalog/db.js';
import { loadStoredTotals } from './catalog/ingest-store.js';
import { type CatalogFault, CatalogPersister } from './catalog/persister.js';
import { integrityCounts } from './catalog/verifier-service.js';
import { AlertAggregates } from './feeders/alert-aggregates.js';
import { EpisodeIdTracker } from './feeders/episode-ids.js';
import { EpisodesDirFeeder } from './feeders/episodes-dir.js';
import { FirstPassLoader, type RangeRead } from './feeders/first-pass.js';
import { HealthDirFeeder } from './feeders/health-dir.js';
import { IndexAggregates } from './feeders/index-aggregates.js';
import { type CompactIndexBatch, LINE_OK, SKIP_CODES, sumsWithout } from './feeders/index-compact.js';
import { planIndexRanges, type RangePlan } from './feeders/index-ranges.js';
import { JsonlFeeder } from './feeders/jsonl-feeder.js';
import { parseAlertLine, parseIndexLine } from './feeders/records.js';
import type { Checkpoint } from './feeders/tail/types.js';
import type {
  AlertRecord,
  DashboardState,
  EpisodeRecord,
  HostHealth,
  IntegrityCounts,
  PhaseMix,
  Snapshot,
} from './protocol/index.js';
import { emptyState } from './protocol/index.js';
import { markCatalogCorrupt } from './state/catalog-file.js';
import { storageFault } from './state/errors.js';
import { errorMessage } from './util/errors.js';
import type { Logger } from './util/log.js';

export interface DashboardOptions {
  dataRoot: string;
  /** The catalog's folder; null keeps an in-memory catalog and runs no writer (one-shot commands). */
  stateDir: string | null;
  logger: Logger;
  /** Seconds. */
  pollInterval: number;
  rescanInterval: number;
  snapshotInterval: number;
  replayBuffer: number;
  /** Each catalog commit's transaction time, in seconds (the `/metrics` histogram). */
  observeCatalogCommit?(source: 'index' | 'alerts', seconds: number): void;
}

/** How often, at most, a bulk load (backlog of the index) publishes its progress as a snapshot. */
const BULK_SNAPSHOT_MS = 500;

/**
 * The composition root of the live side: opens the catalog, seeds the state from it, runs the
 * feeders and the catalog writer, and publishes everything through the bus. HTTP and WebSocket
 * read from here; nothing here knows about them.
 */
export class Dashboard {
  readonly bus: Bus;
  readonly db: Db;
  readonly startedAt = Date.now();
  private index: JsonlFeeder<EpisodeRecord>;
  private readonly firstPass: FirstPassLoader | null;
  private readonly indexFromStart: boolean;
  private readonly alerts: JsonlFeeder<AlertRecord>;
  private readonly episodesDir: EpisodesDirFeeder;
  private readonly health: HealthDirFeeder;
  private readonly persister: CatalogPersister | null;
  private readonly indexAgg: IndexAggregates;
  private readonly alertAgg: AlertAggregates;
  private readonly ids: EpisodeIdTracker;
  private readonly healthByHost: Record<string, HostHealth> = {};
  private readonly lookupStmt;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private bulkTimer: NodeJS.Timeout | null = null;
  private readyFlag = false;
  private readySeconds: number | null = null;
  private newFileListeners: Array<(n: number) => void> = [];
  private stopped = false;

  constructor(private readonly options: DashboardOptions) {
    const { dataRoot, stateDir, logger } = options;
    this.db = openDatabase(stateDir);
    const stored = loadStoredTotals(this.db);
    this.indexAgg = new IndexAggregates(stored);
    this.alertAgg = new AlertAggregates(stored);
    const initial: DashboardState = {
      ...emptyState(),
      ...this.indexAgg.snapshotFields(),
      ...this.alertAgg.snapshotFields(),
    };
    this.bus = new Bus({ capacity: options.replayBuffer, initialState: initial, logger });
    // Rows of earlier runs carry another run id; this run's rows are known from memory.
    const run = randomInt(1, 2 ** 47);
    this.lookupStmt = this.db
      .prepare('SELECT 1 FROM episodes WHERE episode_id = ? AND (ingest_run IS NULL OR ingest_run != ?)')
      .pluck();
    const committedBefore = (id: string) => this.lookupStmt.get(id, run) !== undefined;
    // An empty catalog has nothing to look up: the first pass then runs at parsing speed.
    this.ids = new EpisodeIdTracker(stored.total_episodes > 0 ? committedBefore : null);
    const pollIntervalMs = options.pollInterval * 1000;

    // A cold start (empty catalog) has no earlier ids to look up: its first pass checks repeats
    // by hash only, on compact batches.
    this.firstPass = this.ids.cold
      ? new FirstPassLoader((batch, read) => this.applyCompact(batch, read))
      : null;
    this.indexFromStart = stored.checkpoints.index === undefined;
    this.index = this.makeIndexFeeder(stored.checkpoints.index ?? null, this.firstPass);
    this.alerts = new JsonlFeeder<AlertRecord>({
      name: 'alerts',
      path: path.join(dataRoot, 'alerts.jsonl'),
      start: stored.checkpoints.alerts ?? null,
      pollIntervalMs,
      logger,
      parse: parseAlertLine,
      onRecords: (records, bulk) => this.onAlerts(records, bulk),
      onCaughtUp: () => this.checkReady(),
    });
    this.episodesDir = new EpisodesDirFeeder({
      dataRoot,
      logger,
      rescanIntervalMs: options.rescanInterval * 1000,
      onHostChange: (host, disk) => this.bus.publish({ type: 'host_disk', host_id: host, ...disk }),
      onNewFiles: (n) => {
        for (const l of this.newFileListeners) l(n);
      },
    });
    this.health = new HealthDirFeeder({
      dataRoot,
      logger,
      rescanIntervalMs: options.rescanInterval * 1000,
      onHealth: (host, health) => {
        if (health) this.healthByHost[host] = health;
        else delete this.healthByHost[host];
        this.bus.publish({ type: 'health', host_id: host, health });
      },
    });
    this.persister =
      stateDir === null
        ? null
        : new CatalogPersister(
            { dataRoot, stateDir, pollIntervalMs, run },
            logger,
            undefined,
            options.observeCatalogCommit,
          );
  }

  /** Starts every feeder; resolves once they are running (not when the first pass is done). */
  async start(): Promise<void> {
    this.persister?.start();
    // A cold start reads the index as it is now in line-aligned ranges, scanned byte-wise; the
    // tailer then resumes after them from a checkpoint of the same file (rotations included).
    const plan = this.firstPass && this.indexFromStart ? planIndexRanges(this.indexPath) : null;
    if (plan) this.index = this.makeIndexFeeder(plan.checkpoint, null);
    const index = plan
      ? this.readRanges(plan).then(() => this.index.start())
      : Promise.resolve(this.index.start());
    this.started = Promise.all([index, this.alerts.start()]);
    if (!plan) await this.started;
    // Disk and health scans are part of the first pass: readiness waits for them.
    void Promise.all([this.episodesDir.start(), this.health.start()]).then(() => {
      this.dirsScanned = true;
      this.checkReady();
    });
    this.snapshotTimer = setInterval(() => this.periodicSnapshot(), this.options.snapshotInterval * 1000);
    this.snapshotTimer.unref();
  }

  private get indexPath(): string {
    return path.join(this.options.dataRoot, 'index.jsonl');
  }

  private makeIndexFeeder(
    start: Checkpoint | null,
    bulk: FirstPassLoader | null,
  ): JsonlFeeder<EpisodeRecord> {
    return new JsonlFeeder<EpisodeRecord>({
      name: 'index',
      path: this.indexPath,
      start,
      pollIntervalMs: this.options.pollInterval * 1000,
      logger: this.options.logger,
      parse: parseIndexLine,
      accept: (r) => this.ids.accept(r.episode_id),
      ...(bulk ? { bulkLoader: bulk } : {}),
      onRecords: (records, isBulk) => this.onEpisodes(records, isBulk),
      onCaughtUp: () => this.checkReady(),
    });
  }

  /** The ranged first pass: every planned range read, scanned and applied in order. */
  private async readRanges(plan: RangePlan): Promise<void> {
    const loader = this.firstPass as FirstPassLoader;
    this.firstPassBytes = plan.checkpoint.offset;
    try {
      for (const [start, end] of plan.ranges) {
        if (this.stopped) break;
        await loader.scanRange(plan.fd, start, end);
      }
    } finally {
      fs.closeSync(plan.fd);
      await loader.close();
    }
  }

  /** The ranged first pass's size in bytes, until its first batch has sized the id set by it. */
  private firstPassBytes: number | null = null;
  private dirsScanned = false;
  private integrityCache: { at: number; counts: IntegrityCounts } | null = null;
  private started: Promise<unknown> = Promise.resolve();

  /** True once the first pass is done: index and alerts caught up, episodes and health scanned. */
  get ready(): boolean {
    return this.readyFlag;
  }

  /** Seconds from start to ready, once ready. */
  get bootstrapSeconds(): number | null {
    return this.readySeconds;
  }

  /** Resolves when ready. */
  whenReady(): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    return new Promise((resolve) => {
      const unsubscribe = this.bus.subscribe((e) => {
        if (e.type === 'ready' && e.ready) {
          unsubscribe();
          resolve();
        }
      });
    });
  }

  /**
   * Resolves once the catalog (the explorer's and /api/alerts' source) has caught up with the
   * files at least once; it fills beside the live state and may trail it briefly after start.
   */
  whenCatalogCaughtUp(): Promise<void> {
    return this.persister ? this.persister.whenCaughtUp() : Promise.resolve();
  }

  /** Why the catalog cannot be written right now (full disk, read-only, corrupt), or null. */
  get catalogFault(): CatalogFault | null {
    return this.corrupt ?? this.persister?.fault ?? null;
  }

  /** A corrupt page met by a reader: sticky, since retrying does not heal it. */
  private corrupt: CatalogFault | null = null;

  /**
   * Takes note of a catalog error met by a reader (the explorer, the integrity counts). True when
   * it is corruption: from then on /readyz and the explorer say so, and the next start sets the
   * catalog aside and rebuilds it from the data root.
   */
  reportCatalogError(err: unknown): boolean {
    const { stateDir, logger } = this.options;
    if (storageFault(err) !== 'corrupt' || stateDir === null) return false;
    if (this.corrupt) return true;
    const message = errorMessage(err);
    this.corrupt = { fault: 'corrupt', message, since: new Date().toISOString() };
    logger.error(
      { stateDir, message, marked: markCatalogCorrupt(stateDir, message) },
      `the catalog in ${stateDir} is corrupt (${message}); the next start sets it aside and rebuilds it from the data root`,
    );
    return true;
  }

  /** `--rescan-interval` and `--poll-interval` in ms, for the other walkers of the data root. */
  get intervalsMs(): { rescan: number; poll: number } {
    return { rescan: this.options.rescanInterval * 1000, poll: this.options.pollInterval * 1000 };
  }

  /** Called with the number of new episode files (the phase mix hooks in here). */
  onNewEpisodeFiles(listener: (n: number) => void): void {
    this.newFileListeners.push(listener);
  }

  publishPhaseMix(mix: PhaseMix): void {
    this.bus.publish({ type: 'phase_mix', ...mix });
  }

  /** The snapshot part of the state, from the running aggregates (never a re-read of the index). */
  snapshot(): Snapshot {
    const disk = this.episodesDir.disk();
    const host_counts: Record<string, number> = {};
    const host_bytes: Record<string, number> = {};
    for (const [host, d] of Object.entries(disk)) {
      if (d.files === 0 && d.bytes === 0) continue;
      host_counts[host] = d.files;
      host_bytes[host] = d.bytes;
    }
    return {
      ...this.indexAgg.snapshotFields(),
      ...this.alertAgg.snapshotFields(),
      host_counts,
      host_bytes,
      health: { ...this.healthByHost },
      ready: this.readyFlag,
      integrity: this.integrity(),
    };
  }

  /** Integrity counts from the catalog, recomputed at most every 10 s (bulk snapshots are frequent). */
  private integrity(): IntegrityCounts | null {
    const now = Date.now();
    if (this.integrityCache && now - this.integrityCache.at < 10_000) return this.integrityCache.counts;
    try {
      this.integrityCache = { at: now, counts: integrityCounts(this.db) };
    } catch (err) {
      if (!this.reportCatalogError(err)) this.options.logger.warn({ err }, 'cannot count integrity statuses');
    }
    return this.integrityCache?.counts ?? null;
  }

  publishSnapshot(): void {
    if (this.stopped) return;
    const snapshot = this.snapshot();
    this.lastSnapshotJson = JSON.stringify(snapshot);
    this.bus.publish({ type: 'snapshot', ...snapshot });
  }

  /**
   * The timer's snapshot: published unless it would say exactly what the last one said. A quiet
   * lab would otherwise fill the replay ring (up to its 64 MiB) with identical 70 KB snapshots
   * over a few hours — memory held for nothing, since every client already has that state.
   */
  periodicSnapshot(): void {
    if (this.stopped) return;
    if (JSON.stringify(this.snapshot()) === this.lastSnapshotJson) return;
    this.publishSnapshot();
  }

  /** The last published snapshot, serialised (to skip an identical periodic one). */
  private lastSnapshotJson: string | null = null;

  stats() {
    return {
      index: this.index.stats(),
      alerts: this.alerts.stats(),
      episodes_dir: this.episodesDir.stats(),
      health: this.health.stats(),
      catalog: this.persister?.stats() ?? null,
      remembered_ids: this.ids.rememberedCount,
      ready: this.readyFlag,
      bootstrap_seconds: this.readySeconds,
      bus: this.bus.stats(),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.started;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.bulkTimer) clearTimeout(this.bulkTimer);
    this.episodesDir.stop();
    this.health.stop();
    await Promise.all([this.index.stop(), this.alerts.stop()]);
    await this.persister?.stop();
    this.db.close();
  }

  private onEpisodes(records: EpisodeRecord[], bulk: boolean): void {
    this.indexAgg.add(records);
    if (bulk) {
      this.scheduleBulkSnapshot();
      return;
    }
    for (const r of records) this.bus.publish({ type: 'episode', ...r });
  }

  /**
   * Applies a parsed first-pass batch in order: repeats counted once, totals, the recent tail.
   * The scan summed the batch per host; only the ids are checked here, one by one, and
   * the sums are redone only for a batch that holds a repeated id.
   */
  private applyCompact(batch: CompactIndexBatch, read?: RangeRead): void {
    const { status, hashHi, hashLo } = batch;
    if (read && this.firstPassBytes !== null && read.bytes > 0) {
      // Room for the whole pass's ids at once, estimated from the first range's lines per byte (no
      // margin: one more doubling at the end is cheaper than a table twice the size throughout).
      this.ids.reserve(Math.ceil((batch.count * this.firstPassBytes) / read.bytes));
      this.firstPassBytes = null;
    }
    const skipCounts = new Uint32Array(SKIP_CODES.length);
    let duplicateAt: number[] | null = null;
    for (let i = 0; i < batch.count; i++) {
      const code = status[i] as number;
      if (code !== LINE_OK) skipCounts[code - 1] = (skipCounts[code - 1] as number) + 1;
      else if (!this.ids.acceptHash(hashHi[i] as number, hashLo[i] as number)) {
        duplicateAt ??= [];
        duplicateAt.push(i);
      }
    }
    const sums = duplicateAt ? sumsWithout(batch, duplicateAt) : batch.hostSums;
    let acceptedCount = 0;
    batch.hosts.forEach((name, k) => {
      const episodes = sums.episodes[k] as number;
      if (episodes === 0) return;
      acceptedCount += episodes;
      this.indexAgg.addSums(
        this.indexAgg.host(name),
        episodes,
        sums.bytes[k] as number,
        sums.lastMs[k] as number,
      );
    });
    const skipped: Record<string, number> = {};
    SKIP_CODES.forEach((reason, k) => {
      const n = skipCounts[k] as number;
      if (n > 0) skipped[reason] = n;
    });
    const repeated = new Set(duplicateAt);
    this.indexAgg.pushRecent(batch.tail.filter((t) => !repeated.has(t.index)).map((t) => t.record));
    // Range batches were read outside the tailer: their lines and read skips are counted here.
    // Invalid UTF-8 is no skip (the line is delivered with U+FFFD): it has its own count.
    const { invalid_utf8: invalidUtf8 = 0, ...readSkips } = read?.skips ?? {};
    for (const [reason, n] of Object.entries(readSkips)) skipped[reason] = (skipped[reason] ?? 0) + n;
    this.index.countBulk({
      ...(read ? { lines: batch.count, invalidUtf8 } : {}),
      accepted: acceptedCount,
      duplicates: duplicateAt?.length ?? 0,
      skipped,
      rejected: [...(read?.excerpts ?? []), ...batch.rejected],
    });
    this.scheduleBulkSnapshot();
  }

  private onAlerts(records: AlertRecord[], bulk: boolean): void {
    this.alertAgg.add(records);
    if (bulk) {
      this.scheduleBulkSnapshot();
      return;
    }
    for (const a of records) this.bus.publish({ type: 'alert', ...a });
  }

  /** A backlog is published as snapshots (at most every 500 ms), not one event per line. */
  private scheduleBulkSnapshot(): void {
    if (this.bulkTimer || this.stopped) return;
    this.bulkTimer = setTimeout(() => {
      this.bulkTimer = null;
      this.publishSnapshot();
    }, BULK_SNAPSHOT_MS);
  }

  private checkReady(): void {
    if (this.readyFlag || this.stopped) return;
    if (!this.index.isCaughtUp || !this.alerts.isCaughtUp || !this.dirsScanned) return;
    this.readyFlag = true;
    this.readySeconds = (Date.now() - this.startedAt) / 1000;
    // The catalog writer has held its files open since start (a rotation meanwhile cannot hide
    // lines from it) and writes from now on, so the first pass had the CPU to itself.
    this.persister?.go();
    if (this.bulkTimer) {
      clearTimeout(this.bulkTimer);
      this.bulkTimer = null;
    }
    this.publishSnapshot();
    this.bus.publish({ type: 'ready', ready: true });
    this.options.logger.info(
      {
        bootstrap_seconds: this.readySeconds,
        total_episodes: this.indexAgg.total_episodes,
        total_alerts: this.alertAgg.total_alerts,
      },
      'ready',
    );
  }
}
