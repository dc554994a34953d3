import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { WsHub } from './bus/ws-hub.js';
import { DB_FILE } from './catalog/db.js';
import { defaultsOf } from './config/parse.js';
import { defaultStateDir, SERVER_OPTIONS, type ServerConfig } from './config/schema.js';
import { Dashboard } from './dashboard.js';
import { type BuildAppOptions, buildApp } from './http/app.js';
import { isLoopbackHost, originCheck, ReadAuth } from './http/auth.js';
import type { AppContext } from './http/context.js';
import { Metrics } from './http/metrics.js';
import { publishStoredAlertActions } from './http/routes/alert-lifecycle.js';
import { DataRootMonitor } from './liveness/data-root-monitor.js';
import { PhaseMixService } from './phasemix/service.js';
import { type HostThresholds, parseHostThresholds } from './protocol/host-status.js';
import { CLOSE_GOING_AWAY, HEARTBEAT_INTERVAL_MS } from './protocol/index.js';
import { defaultStateDirFor } from './state/data-root-id.js';
import { openStateDir, type StateDirHandle } from './state/state-dir.js';
import { UsageError } from './util/errors.js';
import { createLogger, type Logger } from './util/log.js';

/** Everything `serve` accepts: the type comes from the config schema (src/config/schema.ts). */
export type { ServerConfig } from './config/schema.js';

/** `serve`'s defaults, from the config schema. */
export const SERVER_DEFAULTS: ServerConfig = defaultsOf(SERVER_OPTIONS);

export interface RunningServer {
  url: string;
  port: number;
  dashboard: Dashboard;
  app: FastifyInstance;
  hub: WsHub;
  logger: Logger;
  /** Stops feeders, closes clients with 1001, flushes checkpoints; idempotent. */
  close(): Promise<void>;
}

/** The packaged web app: `web-dist/` at the package root. */
export function defaultWebDir(): string {
  return fileURLToPath(new URL('../web-dist/', import.meta.url));
}

function readToken(file: string, flag: string): string {
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

function checkDataRoot(dataRoot: string): void {
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

function thresholdsFrom(spec: string | undefined): HostThresholds {
  try {
    return parseHostThresholds(spec ?? '');
  } catch (err) {
    throw new UsageError('bad_host_thresholds', `--host-thresholds: ${(err as Error).message}`);
  }
}

export interface StartServerExtras {
  logger?: Logger;
  /** Extra routes (the episode catalog). */
  routes?: BuildAppOptions['routes'];
}

/** Builds and starts the whole server: feeders, bus, WebSocket hub and HTTP app. */
export async function startServer(
  partial: Partial<ServerConfig> & { dataRoot: string },
  extras: StartServerExtras = {},
): Promise<RunningServer> {
  const config: ServerConfig = { ...defaultsOf(SERVER_OPTIONS), ...partial };
  checkDataRoot(config.dataRoot);
  // Checked before the state dir is taken: a bad flag is one line and exit 2, nothing opened.
  thresholdsFrom(config.hostThresholds);
  const phaseToken = config.phaseTokenFile ? readToken(config.phaseTokenFile, 'phase-token') : null;
  const readAuth = config.readTokenFile ? new ReadAuth(readToken(config.readTokenFile, 'read-token')) : null;
  const checkOrigin = originCheck(config.allowedOrigins ?? []);
  const logger = extras.logger ?? createLogger({ level: config.logLevel });
  if (!isLoopbackHost(config.host) && !readAuth) {
    logger.warn(
      { host: config.host },
      'listening beyond loopback without --read-token: anyone who can reach this port can read the lab’s data',
    );
  }

  const stateDir = path.resolve(config.stateDir ?? defaultStateDirFor(config.dataRoot));
  if (config.stateDir === undefined) noteSharedStateDir(logger, stateDir);
  // Owned from here until close(): a second server on this state dir stops at this line.
  const state = openStateDir({
    stateDir,
    dataRoot: config.dataRoot,
    resetState: config.resetState ?? false,
    logger,
  });
  try {
    return await startOnStateDir(
      config,
      stateDir,
      { phaseToken, readAuth, checkOrigin, logger, state },
      extras,
    );
  } catch (err) {
    state.release();
    throw err;
  }
}

/**
 * Before state dirs were kept per data root, every root shared `$XDG_STATE_HOME/cis490-dashboard`;
 * a catalog left there is no longer read (it may mix roots). Says so once per start.
 */
function noteSharedStateDir(logger: Logger, stateDir: string): void {
  const old = path.join(defaultStateDir(), DB_FILE);
  if (fs.existsSync(old)) {
    logger.info(
      { old, stateDir },
      'a catalog from an older version (one state dir for every data root) is no longer used; this data root’s state is in its own folder now, and the old file may be deleted',
    );
  }
}

interface StartParts {
  phaseToken: string | null;
  readAuth: ReadAuth | null;
  checkOrigin: ReturnType<typeof originCheck>;
  logger: Logger;
  state: StateDirHandle;
}

async function startOnStateDir(
  config: ServerConfig,
  stateDir: string,
  { phaseToken, readAuth, checkOrigin, logger, state }: StartParts,
  extras: StartServerExtras,
): Promise<RunningServer> {
  const metrics = new Metrics();
  const dashboard = new Dashboard({
    dataRoot: path.resolve(config.dataRoot),
    stateDir,
    logger,
    pollInterval: config.pollInterval,
    rescanInterval: config.rescanInterval,
    snapshotInterval: config.snapshotInterval,
    replayBuffer: config.replayBuffer,
    observeCatalogCommit: (source, seconds) => metrics.catalogCommit.observe({ source }, seconds),
  });
  // Before anything reads the root: the first hello already says whether it is there.
  const dataRootMonitor = new DataRootMonitor({
    dataRoot: path.resolve(config.dataRoot),
    publish: (event) => dashboard.bus.publish(event),
  });
  dashboard.bus.publish({ type: 'host_thresholds', thresholds: thresholdsFrom(config.hostThresholds) });
  // Acknowledgements and silences survive restarts: into the state before the first hello.
  publishStoredAlertActions({ dashboard });
  const hub = new WsHub({
    bus: dashboard.bus,
    logger,
    queueCapBytes: config.clientQueueBytes,
    pingIntervalMs: config.pingInterval * 1000,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    observeSendLatency: (seconds) => metrics.wsSendLatency.observe(seconds),
  });
  // The phase mix caches per-episode results in the catalog: a restart reads no tarball twice.
  const phaseMix = new PhaseMixService({
    dataRoot: path.resolve(config.dataRoot),
    db: dashboard.db,
    logger,
    sample: config.phaseSample,
    intervalMs: config.phaseInterval * 1000,
    publish: (mix) => dashboard.publishPhaseMix(mix),
    observeRefresh: (seconds) => metrics.phaseMixRefresh.observe(seconds),
  });
  metrics.bind(() => ({
    stats: dashboard.stats(),
    state: dashboard.bus.state,
    hub: hub.stats(),
    phaseMix: phaseMix.stats(),
    startedAt: dashboard.startedAt,
    catalogFault: dashboard.catalogFault?.fault ?? null,
  }));
  dashboard.onNewEpisodeFiles(() => phaseMix.notifyNewEpisodes());
  const ctx: AppContext = {
    dashboard,
    hub,
    logger,
    dataRoot: path.resolve(config.dataRoot),
    phaseToken,
    phaseMix,
    metrics,
  };
  // The first pass starts before the HTTP app is built: building it waits on files too, and the
  // pass yields between its ranges, so the two overlap.
  await dashboard.start();
  const webDir = config.webDir ?? defaultWebDir();
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(ctx, {
      webDir,
      readAuth,
      checkOrigin,
      ...(extras.routes ? { routes: extras.routes } : {}),
    });
  } catch (err) {
    dataRootMonitor.stop();
    await hub.close(CLOSE_GOING_AWAY, 'server failed to start');
    await dashboard.stop();
    throw err;
  }

  // The phase mix reads tarballs; it starts once the first pass is done, which then has the CPU.
  let closed = false;
  void dashboard.whenReady().then(() => {
    if (!closed) phaseMix.start();
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // A busy port must not leave the feeders and their threads running behind the error.
    closed = true;
    dataRootMonitor.stop();
    await hub.close(CLOSE_GOING_AWAY, 'server failed to start');
    await phaseMix.stop();
    await app.close();
    await dashboard.stop();
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new UsageError(
        'port_in_use',
        `--port ${config.port}: ${config.host}:${config.port} is already in use (pass another --port; 0 picks a free one)`,
      );
    }
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  logger.info({ url, dataRoot: config.dataRoot, stateDir }, 'listening');

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      closed = true;
      dataRootMonitor.stop();
      await hub.close(CLOSE_GOING_AWAY, 'server shutting down');
      await phaseMix.stop();
      await app.close();
      await dashboard.stop();
      state.release();
      logger.info('stopped');
    })();
    return closing;
  };
  return { url, port, dashboard, app, hub, logger, close };
}
