import path from 'node:path';
import { Bus, type BusStats } from '../bus/bus.js';
import { RingEventLog } from '../bus/event-log.js';
import { IngestLog } from '../bus/ingest-log.js';
import { type Db, openDatabase } from '../catalog/db.js';
import { loadStoredTotals } from '../catalog/ingest-store.js';
import { type CatalogFault, CatalogPersister, type PersisterStats } from '../catalog/persister.js';
import type { VerifierCounts } from '../catalog/verifier-counts.js';
import { integrityCounts } from '../catalog/verifier-service.js';
import { releasePrestartedCatalogWriter } from '../catalog/writer-prestart.js';
import { EpisodesDirFeeder } from '../feeders/episodes-dir.js';
import type { EpisodeFileSource } from '../feeders/file-journal.js';
import { bootTrace, traceMark } from '../feeders/first-pass-trace.js';
import { HealthDirFeeder } from '../feeders/health-dir.js';
import type { JsonlFeederStats } from '../feeders/jsonl-feeder.js';
import { emptyState } from '../protocol/index.js';
import { markCatalogCorrupt } from '../state/catalog-file.js';
import { CatalogFileWatch } from '../state/catalog-watch.js';
import { storageFault } from '../state/errors.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { type IngestCounts, IngestMetrics } from './ingest-metrics.js';
import { LiveProjection } from './live-projection.js';
import { LiveState } from './live-state.js';
import { alertSource, IndexSource } from './sources.js';

export interface PipelineOptions {
  dataRoot: string;
  /** The catalog's folder; null keeps an in-memory catalog and runs no writer (one-shot commands). */
  stateDir: string | null;
  logger: Logger;
  /** Seconds. */
  pollInterval: number;
  rescanInterval: number;
  snapshotInterval: number;
  replayBuffer: number;
  /** Bytes per range of a cold first pass (tests make many small ones). @default 4 MiB */
  firstPassRangeBytes?: number;
  /**
   * Each catalog commit's transaction time, in seconds (the `/metrics` histogram), and whether it
   * left the integrity verifier work (rows the writer did not classify, files to hash).
   */
  observeCatalogCommit?(source: 'index' | 'alerts', seconds: number, verifierWork: boolean): void;
}

/** One source file: its reader's position and files, and what the ingest log carried of it. */
export type SourceStats = JsonlFeederStats & IngestCounts;

export interface PipelineStats {
  index: SourceStats;
  alerts: SourceStats;
  episodes_dir: ReturnType<EpisodesDirFeeder['stats']>;
  health: ReturnType<HealthDirFeeder['stats']>;
  catalog: PersisterStats | null;
  remembered_ids: number;
  ready: boolean;
  bootstrap_seconds: number | null;
  bus: BusStats;
}

/** The ingest side of the server, built and wired: readers, logs and projections. */
export interface Pipeline {
  readonly bus: Bus;
  readonly db: Db;
  readonly live: LiveState;
  /** Starts the readers and the writer; resolves once they run (not when the first pass is done). */
  start(): Promise<void>;
  /** Stops the readers and the writer; closes the catalog connection once `readersDone` (if given) settled. */
  stop(readersDone?: Promise<unknown>): Promise<void>;
  /** Resolves once the first pass is done: index and alerts caught up, episodes and health scanned. */
  whenReady(): Promise<void>;
  /** Resolves once ready and the catalog has committed everything read up to then. */
  whenCatalogCaughtUp(): Promise<void>;
  /** Resolves once the catalog has committed every live line read so far (CatalogPersister.commitHeld). */
  catalogCommitted(): Promise<void>;
  /** Called with the number of new episode files (the phase mix and the verifier hook in here). */
  onNewEpisodeFiles(listener: (n: number) => void): void;
  /** The episode files as the host-folder feeder lists them (the phase mix follows its changes). */
  readonly episodeFiles: EpisodeFileSource;
  /**
   * Where the integrity counts get the verifier thread's own counts (it counts 200,000 unindexed
   * files off the event loop); until it returns some, the pipeline counts in the catalog itself.
   */
  takeVerifierCounts(read: () => VerifierCounts | null): void;
  /** The verifier thread counted again: news the wall must not wait for is published soon. */
  integrityCounted(): void;
  stats(): PipelineStats;
  /** Whether the catalog can be written and read; readers report the errors they meet here. */
  readonly catalogHealth: CatalogHealth;
}

/** Why the catalog cannot be used right now, and where readers report a catalog error. */
export interface CatalogHealth {
  /** Why the catalog cannot be written right now (full disk, read-only, corrupt), or null. */
  readonly fault: CatalogFault | null;
  /**
   * Takes note of a catalog error met by a reader (the explorer, the integrity counts, the
   * verifier). True when it is corruption: from then on /readyz and the explorer say so, and the
   * next start sets the catalog aside and rebuilds it from the data root.
   */
  reportError(err: unknown): boolean;
}

/**
 * Builds the pipeline (DESIGN §3): one reader per source file appends each batch to the ingest
 * log; the live state, the catalog writer and the metrics are projections of it. The live state
 * starts from what the catalog committed, and the readers resume from the catalog's positions,
 * so a restart neither repeats nor skips a line.
 */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { dataRoot, stateDir, logger } = options;
  // The two files of the data root this pipeline reads (each by one reader; the writer reads a cold
  // start's ranges of them again, or their copies after a copytruncate).
  const indexPath = path.join(dataRoot, 'index.jsonl');
  const alertsPath = path.join(dataRoot, 'alerts.jsonl');
  const db = openDatabase(stateDir);
  // This connection never copies the write-ahead log into the catalog (a checkpoint: up to 4,000
  // pages of 16 KiB read, written and synced) on the event loop when one of its rare commits (the
  // phase-mix cache, alert actions) finds the log long: the catalog writer's and the verifier's
  // commits do (persist-worker.ts LIVE_WAL_AUTOCHECKPOINT).
  db.pragma('wal_autocheckpoint = 0');
  const stored = loadStoredTotals(db);
  const ingest = new IngestLog();
  // Declared before the writer so the integrity counts can report into it.
  let persisterRef: CatalogPersister | null = null;
  /** A corrupt page met by a reader: sticky, since retrying does not heal it. */
  let corrupt: CatalogFault | null = null;
  // The catalog file removed or replaced under us (a tmp cleaner, the state dir cleared).
  const catalogFile = stateDir === null ? null : new CatalogFileWatch(stateDir, logger);
  const catalogHealth: CatalogHealth = {
    get fault() {
      return corrupt ?? catalogFile?.gone ?? persisterRef?.fault ?? null;
    },
    reportError(err) {
      if (storageFault(err) !== 'corrupt' || stateDir === null) return false;
      if (corrupt) return true;
      const message = errorMessage(err);
      corrupt = { fault: 'corrupt', message, since: new Date().toISOString() };
      logger.error(
        { stateDir, message, marked: markCatalogCorrupt(stateDir, message) },
        `the catalog in ${stateDir} is corrupt (${message}); the next start sets it aside and rebuilds it from the data root`,
      );
      return true;
    },
  };
  const events = new RingEventLog(options.replayBuffer, undefined, { logger });
  let liveState: LiveState | null = null;
  const live = new LiveProjection(
    stored,
    (events) => bus.publishAll(events),
    () => liveState?.scheduleBulkSnapshot(),
  );
  const bus = new Bus({
    log: events,
    initialState: { ...emptyState(), ...live.index.snapshotFields(), ...live.alerts.snapshotFields() },
  });
  const newFileListeners: Array<(n: number) => void> = [];
  let verifierCounts: () => VerifierCounts | null = () => null;
  const episodesDir = new EpisodesDirFeeder({
    dataRoot,
    logger,
    rescanIntervalMs: options.rescanInterval * 1000,
    onHostChange: (host, disk) => bus.publish({ type: 'host_disk', host_id: host, ...disk }),
    onNewFiles: (n) => {
      for (const l of newFileListeners) l(n);
    },
  });
  liveState = new LiveState({
    bus,
    live,
    disk: () => episodesDir.disk(),
    integrity: () => integrityCounts(db, verifierCounts()),
    reportError: (err) => catalogHealth.reportError(err),
    logger,
    snapshotInterval: options.snapshotInterval,
  });
  traceMark('clock');
  const state = liveState;
  const health = new HealthDirFeeder({
    dataRoot,
    logger,
    rescanIntervalMs: options.rescanInterval * 1000,
    onHealth: (host, h) => state.setHealth(host, h),
  });
  const persister =
    stateDir === null
      ? null
      : new CatalogPersister(
          { stateDir, indexPath, alertsPath, dataRoot },
          logger,
          undefined,
          options.observeCatalogCommit,
        );
  persisterRef = persister;
  // No catalog to write: a writer thread started ahead of need is given back.
  if (!persister) releasePrestartedCatalogWriter();
  // Projections in order: the live state first (what clients wait for), the metrics, then the
  // catalog (it copies what it keeps before the reader reuses its buffer, or moves columns that
  // are the entry's own: last). All run before `append` returns.
  const ingestMetrics = new IngestMetrics();
  ingest.subscribe(live);
  ingest.subscribe(ingestMetrics);
  if (persister) ingest.subscribe(persister);

  let dirsScanned = false;
  const checkReady = () => {
    if (!(index.isCaughtUp && alerts.isCaughtUp && dirsScanned) || state.ready) return;
    traceMark('ready');
    state.markReady();
    const trace = bootTrace();
    if (trace) logger.info({ trace }, 'boot trace');
  };
  const lookup = db.prepare('SELECT 1 FROM episodes WHERE episode_id = ?').pluck();
  const pollIntervalMs = options.pollInterval * 1000;
  // An empty catalog has nothing to look up: the first pass then runs at parsing speed.
  const index = new IndexSource(
    {
      path: indexPath,
      start: stored.checkpoints.index ?? null,
      pollIntervalMs,
      logger,
      log: ingest,
      onCaughtUp: () => {
        traceMark('index caught up');
        checkReady();
      },
      ...(options.firstPassRangeBytes ? { firstPassRangeBytes: options.firstPassRangeBytes } : {}),
    },
    stored.total_episodes > 0 ? (id) => lookup.get(id) !== undefined : null,
  );
  // The catalog writer waits for the cold pass to end rather than take the two cores' time beside it.
  if (persister && index.coldStart) persister.holdForFirstPass();
  const alerts = alertSource({
    path: alertsPath,
    start: stored.checkpoints.alerts ?? null,
    pollIntervalMs,
    logger,
    log: ingest,
    onCaughtUp: () => {
      traceMark('alerts caught up');
      checkReady();
    },
  });

  let started: Promise<unknown> = Promise.resolve();
  let stopped = false;
  return {
    bus,
    db,
    live: state,
    catalogHealth,
    async start() {
      catalogFile?.start();
      persister?.start();
      started = Promise.all([index.start(), alerts.start()]);
      await started;
      // Disk and health scans are part of the first pass: readiness waits for them.
      traceMark('readers started');
      void Promise.all([
        episodesDir.start().then(() => traceMark('episodes/ scanned')),
        health.start().then(() => traceMark('health/ scanned')),
      ]).then(() => {
        dirsScanned = true;
        checkReady();
      });
      state.start();
    },
    async stop(readersDone) {
      if (stopped) return;
      stopped = true;
      catalogFile?.stop();
      await started;
      state.stop();
      episodesDir.stop();
      health.stop();
      await Promise.all([index.stop(), alerts.stop()]);
      await persister?.stop();
      await readersDone?.catch(() => {});
      db.close();
    },
    whenReady: () => state.whenReady(),
    catalogCommitted: () => persister?.commitHeld() ?? Promise.resolve(),
    whenCatalogCaughtUp: async () => {
      await state.whenReady();
      await persister?.whenIdle();
    },
    episodeFiles: episodesDir,
    takeVerifierCounts(read) {
      verifierCounts = read;
    },
    integrityCounted: () => state.integrityCounted(),
    onNewEpisodeFiles(listener) {
      newFileListeners.push(listener);
    },
    stats: () => ({
      index: { ...index.stats(), ...ingestMetrics.counts('index') },
      alerts: { ...alerts.stats(), ...ingestMetrics.counts('alerts') },
      episodes_dir: episodesDir.stats(),
      health: health.stats(),
      catalog: persister?.stats() ?? null,
      remembered_ids: index.rememberedIds,
      ready: state.ready,
      bootstrap_seconds: state.bootstrapSeconds,
      bus: bus.stats(),
    }),
  };
}
