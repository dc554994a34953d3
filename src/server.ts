import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { WsHub } from './bus/ws-hub.js';
import { DB_FILE } from './catalog/db.js';
import { defaultStateDir } from './config/schema.js';
import { SERVER_DEFAULTS, type ServerConfig } from './config/server-config.js';
import type { Pipeline } from './pipeline/pipeline.js';
import {
  checkDataRoot,
  type Services,
  type ServicesExtras,
  startServices,
  thresholdsFrom,
} from './services.js';
import { defaultStateDirFor } from './state/data-root-id.js';
import { openStateDir } from './state/state-dir.js';
import { UsageError } from './util/errors.js';
import { createLogger, type Logger } from './util/log.js';

export { SERVER_DEFAULTS, type ServerConfig } from './config/server-config.js';
export { defaultWebDir } from './services.js';

export interface RunningServer {
  url: string;
  port: number;
  pipeline: Pipeline;
  app: FastifyInstance;
  hub: WsHub;
  services: Services;
  logger: Logger;
  /** Stops feeders, closes clients with 1001, flushes checkpoints, releases the state dir; idempotent. */
  close(): Promise<void>;
}

export type StartServerExtras = ServicesExtras;

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

/**
 * The process shell: owns the state dir, builds the services (the composition root,
 * `services.ts`), listens, and closes them. A busy port stops what was started before saying so.
 */
export async function startServer(
  partial: Partial<ServerConfig> & { dataRoot: string },
  extras: StartServerExtras = {},
): Promise<RunningServer> {
  const config: ServerConfig = { ...SERVER_DEFAULTS, ...partial };
  checkDataRoot(config.dataRoot);
  // Checked before the state dir is taken: a bad flag is one line and exit 2, nothing opened.
  thresholdsFrom(config.hostThresholds);
  const logger = extras.logger ?? createLogger({ level: config.logLevel });
  const stateDir = path.resolve(config.stateDir ?? defaultStateDirFor(config.dataRoot));
  if (config.stateDir === undefined) noteSharedStateDir(logger, stateDir);
  // Owned from here until close(): a second server on this state dir stops at this line.
  const state = openStateDir({
    stateDir,
    dataRoot: config.dataRoot,
    resetState: config.resetState ?? false,
    logger,
  });
  let services: Services;
  try {
    services = await startServices({ ...config, stateDir }, { ...extras, logger });
  } catch (err) {
    state.release();
    throw err;
  }
  const { app } = services;
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await services.stop();
    state.release();
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
  return {
    url,
    port,
    pipeline: services.pipeline,
    app,
    hub: services.hub,
    services,
    logger,
    close: () => {
      closing ??= (async () => {
        await services.stop();
        state.release();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
