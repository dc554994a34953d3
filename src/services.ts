import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WsHub } from './bus/ws-hub.js';
import { trimMalloc } from './catalog/db.js';
import { ExplorerThread } from './catalog/explorer-service.js';
import { futureDatedOrNull } from './catalog/future-dated.js';
import { IntegrityVerifier } from './catalog/verifier-service.js';
import type { ServerConfig } from './config/server-config.js';
import { traceMark } from './feeders/first-pass-trace.js';
import { type BuildAppOptions, buildApp } from './http/app.js';
import { isLoopbackHost, originCheck, ReadAuth } from './http/auth.js';
import type { AppContext } from './http/context.js';
import { Metrics } from './http/metrics.js';
import { publishStoredAlertActions } from './http/routes/alert-lifecycle.js';
import { DataRootMonitor } from './liveness/data-root-monitor.js';
import { PhaseMixService } from './phasemix/service.js';
import { createPipeline, type Pipeline } from './pipeline/pipeline.js';
import { type HostThresholds, parseHostThresholds } from './protocol/host-status.js';
import { CLOSE_GOING_AWAY, HEARTBEAT_INTERVAL_MS } from './protocol/index.js';
import { UsageError } from './util/errors.js';
import { createLogger, type Logger } from './util/log.js';
import { packageRoot } from './util/package-root.js';
import { lowerV8Workers, V8_WORKER_NICE } from './util/v8-workers.js';

/** The packaged web app: `web-dist/` at the package root. */
export function defaultWebDir(): string {
  return `${path.join(packageRoot(), 'web-dist')}${path.sep}`;
}

export interface ServicesExtras {
  logger?: Logger;
  /** Extra routes (tests). */
  routes?: BuildAppOptions['routes'];
  /** The verifier thread's idle end (`IntegrityVerifierOptions.idleEndMs`; tests shorten it). */
  verifierIdleEndMs?: number;
}

/** Everything the server runs, built and wired; `server.ts` only listens and closes. */
export interface Services {
  readonly pipeline: Pipeline;
  readonly app: FastifyInstance;
  readonly hub: WsHub;
  readonly phaseMix: PhaseMixService;
  /** The integrity verifier thread (null with an in-memory catalog). */
  readonly verifier: IntegrityVerifier | null;
  readonly logger: Logger;
  /** Stops everything in order (clients get 1001, checkpoints are committed); idempotent. */
  stop(): Promise<void>;
}

export function readToken(file: string, flag: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError('bad_token_file', `--${flag}: cannot read ${file} (${(err as Error).message})`, {
      file,
    });
  }
  if (text.length < 8)
    throw new UsageError('bad_token_file', `--${flag}: token in ${file} is shorter than 8 characters`);
  return text;
}

/** `--host-thresholds` parsed, or one line and exit 2. */
export function thresholdsFrom(spec: string | undefined): HostThresholds {
  try {
    return parseHostThresholds(spec ?? '');
  } catch (err) {
    throw new UsageError('bad_host_thresholds', `--host-thresholds: ${(err as Error).message}`);
  }
}

/** A data root that is a file is refused (one that does not exist yet is picked up when it appears). */
export function checkDataRoot(dataRoot: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataRoot);
  } catch {
    return; // A data root that does not exist yet is fine: it is picked up when it appears.
  }
  if (!st.isDirectory()) {
    throw new UsageError('data_root_not_dir', `--data-root ${dataRoot} is not a directory`, { dataRoot });
  }
}

/**
 * The composition root: builds the pipeline (readers, logs, projections), the phase mix, the
 * integrity verifier, the WebSocket hub and the HTTP app, and starts them in order. The first
 * pass starts before the HTTP app is built (building it waits on files too, and the pass yields
 * between its ranges, so the two overlap); the phase mix starts once the first pass is done, the
 * verifier once the catalog has caught up (its read-then-write transactions would otherwise meet
 * the writer's backlog commits). No route starts anything.
 */
export async function startServices(
  config: ServerConfig & { stateDir: string },
  extras: ServicesExtras = {},
): Promise<Services> {
  checkDataRoot(config.dataRoot);
  const dataRoot = path.resolve(config.dataRoot);
  const stateDir = path.resolve(config.stateDir);
  const phaseToken = config.phaseTokenFile ? readToken(config.phaseTokenFile, 'phase-token') : null;
  const readAuth = config.readTokenFile ? new ReadAuth(readToken(config.readTokenFile, 'read-token')) : null;
  const logger = extras.logger ?? createLogger({ level: config.logLevel });
  if (!isLoopbackHost(config.host) && !readAuth) {
    logger.warn(
      { host: config.host },
      'listening beyond loopback without --read-token: anyone who can reach this port can read the lab’s data',
    );
  }

  const metrics = new Metrics();
  // The verifier is made after the pipeline, which tells it of the catalog's commits.
  let indexCommitted = () => {};
  const pipeline = createPipeline({
    dataRoot,
    stateDir,
    logger,
    pollInterval: config.pollInterval,
    rescanInterval: config.rescanInterval,
    snapshotInterval: config.snapshotInterval,
    replayBuffer: config.replayBuffer,
    observeCatalogCommit: (source, seconds, verifierWork) => {
      metrics.catalogCommit.observe({ source }, seconds);
      // New index rows or files for the verifier (a thread ended while idle is started again);
      // not when the writer classified every row it inserted (catalog/insert-classifier.ts).
      if (source === 'index' && verifierWork) indexCommitted();
    },
  });
  const { bus, live } = pipeline;
  // Before anything reads the root: the first hello already says whether it is there.
  const dataRootMonitor = new DataRootMonitor({ dataRoot, publish: (event) => bus.publish(event) });
  bus.publish({ type: 'host_thresholds', thresholds: thresholdsFrom(config.hostThresholds) });
  // Acknowledgements and silences survive restarts: into the state before the first hello.
  publishStoredAlertActions({ catalog: pipeline.db, events: bus });
  const hub = new WsHub({
    bus,
    logger,
    queueCapBytes: config.clientQueueBytes,
    pingIntervalMs: config.pingInterval * 1000,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    observeSendLatency: (seconds) => metrics.wsSendLatency.observe(seconds),
  });
  // The phase mix caches per-episode results in the catalog: a restart reads no tarball twice.
  const phaseMix = new PhaseMixService({
    dataRoot,
    db: pipeline.db,
    logger,
    sample: config.phaseSample,
    intervalMs: config.phaseInterval * 1000,
    publish: (mix) => bus.publish({ type: 'phase_mix', ...mix }),
    observeRefresh: (seconds) => metrics.phaseMixRefresh.observe(seconds),
    // One listing of episodes/ for the host counts and the phase mix: the mix takes its changes.
    files: pipeline.episodeFiles,
  });
  const verifier = new IntegrityVerifier({
    dataRoot,
    stateDir,
    logger,
    onError: (err) => pipeline.catalogHealth.reportError(err),
    // A full listing of episodes/ every --rescan-interval, like the folder feeders; new files in
    // between are announced (poke) and listed at most once a second (or per --poll-interval).
    rescanIntervalMs: config.rescanInterval * 1000,
    pollIntervalMs: Math.max(1000, config.pollInterval * 1000),
    // The files that change come from the host-folder feeder's listing (one listing of episodes/).
    files: pipeline.episodeFiles,
    // What the ended thread freed (its page cache, its malloc arena's free pages) goes back too.
    afterIdleEnd: () => trimMalloc(pipeline.db),
    // A change in a host's corrupt episodes reaches the wall within a second of these counts.
    onCounts: () => pipeline.integrityCounted(),
    ...(extras.verifierIdleEndMs !== undefined ? { idleEndMs: extras.verifierIdleEndMs } : {}),
  });
  indexCommitted = () => verifier.rowsCommitted();
  // The explorer's reads, on their own thread (started by the first, ended when idle).
  const explorer = new ExplorerThread({ stateDir, logger, afterIdleEnd: () => trimMalloc(pipeline.db) });
  metrics.bind(() => ({
    stats: pipeline.stats(),
    state: bus.state,
    hub: hub.stats(),
    phaseMix: phaseMix.stats(),
    verifier: verifier.stats(),
    explorer: explorer.stats(),
    startedAt: live.startedAt,
    catalogFault: pipeline.catalogHealth.fault?.fault ?? null,
    futureDatedEpisodes: futureDatedOrNull(pipeline.db),
  }));
  pipeline.takeVerifierCounts(() => verifier.latestCounts());
  pipeline.onNewEpisodeFiles(() => {
    phaseMix.notifyNewEpisodes();
    verifier.poke();
  });
  const ctx: AppContext = {
    events: bus,
    readiness: live,
    catalog: pipeline.db,
    explorer,
    catalogSettled: () => pipeline.catalogCommitted(),
    catalogHealth: pipeline.catalogHealth,
    stats: () => pipeline.stats(),
    hub,
    logger,
    dataRoot,
    phaseToken,
    phaseMix,
    metrics,
  };

  let stopped = false;
  await pipeline.start();
  let app: FastifyInstance | null = null;
  const stop = async (reason: string) => {
    stopped = true;
    dataRootMonitor.stop();
    // Side by side, under one budget (util/stop-budget.ts): one after another, a WebSocket client
    // that did not read, a download and a cold load's writer each took their own seconds, and a
    // SIGTERM ended past the 5 s deadline. Each peer gets PEER_GRACE_MS at most. The routes read
    // the pipeline's catalog connection, so the pipeline closes it once the HTTP side is closed.
    const http = app?.close();
    // Every part stops even if another failed to (the first failure is thrown once all are done).
    const results = await Promise.allSettled([
      hub.close(CLOSE_GOING_AWAY, reason),
      phaseMix.stop(),
      verifier.stop(),
      explorer.stop(),
      http,
      pipeline.stop(http),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    app = await buildApp(ctx, {
      webDir: config.webDir ?? defaultWebDir(),
      readAuth,
      checkOrigin: originCheck(config.allowedOrigins ?? []),
      ...(extras.routes ? { routes: extras.routes } : {}),
    });
    traceMark('app built');
  } catch (err) {
    await stop('server failed to start');
    throw err;
  }
  void pipeline.whenReady().then(() => {
    if (!stopped) phaseMix.start();
  });
  void pipeline.whenCatalogCaughtUp().then(() => {
    if (stopped) return;
    // For operators: from here the catalog holds every line read at start, through its indexes
    // (a cold load builds them last and syncs after them; the explorer answers from their commit).
    const catalog = pipeline.stats().catalog;
    if (catalog) {
      logger.info(
        {
          committed_lines: catalog.committed_lines,
          seconds_since_start: Number(process.uptime().toFixed(3)),
        },
        'catalog caught up',
      );
    }
    verifier.start();
    const lowered = lowerV8Workers();
    if (lowered > 0) {
      logger.info({ threads: lowered, nice: V8_WORKER_NICE }, 'V8 worker threads lowered');
    }
  });

  let stopping: Promise<void> | null = null;
  return {
    pipeline,
    app,
    hub,
    phaseMix,
    verifier,
    logger,
    stop: () => {
      stopping ??= stop('server shutting down');
      return stopping;
    },
  };
}
