import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { WsHub } from './bus/ws-hub.js';
import { defaultStateDir } from './config/schema.js';
import { SERVER_DEFAULTS, type ServerConfig } from './config/server-config.js';
import type { Pipeline } from './pipeline/pipeline.js';
import { type Services, type ServicesExtras, startServices } from './services.js';
import { UsageError } from './util/errors.js';
import type { Logger } from './util/log.js';

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
  /** Stops feeders, closes clients with 1001, flushes checkpoints; idempotent. */
  close(): Promise<void>;
}

export type StartServerExtras = ServicesExtras;

/**
 * The process shell: builds the services (the composition root, `services.ts`), listens, and
 * closes them. A busy port stops what was started before saying so.
 */
export async function startServer(
  partial: Partial<ServerConfig> & { dataRoot: string },
  extras: StartServerExtras = {},
): Promise<RunningServer> {
  const config: ServerConfig = { ...SERVER_DEFAULTS, stateDir: defaultStateDir(), ...partial };
  const services = await startServices(config, extras);
  const { app, logger } = services;
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await services.stop();
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
  logger.info({ url, dataRoot: config.dataRoot, stateDir: config.stateDir }, 'listening');
  return {
    url,
    port,
    pipeline: services.pipeline,
    app,
    hub: services.hub,
    services,
    logger,
    close: async () => {
      await services.stop();
      logger.info('stopped');
    },
  };
}
