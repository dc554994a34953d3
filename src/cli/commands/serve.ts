import type { ParsedOptions } from '../../config/parse.js';
import { SERVER_OPTIONS } from '../../config/schema.js';
import { parseOriginList } from '../../http/auth.js';
import type { ServerConfig } from '../../server.js';
import type { LogLevel } from '../../util/log.js';
import type { Command } from '../command.js';
import { runUntilSignal, startFullServer } from '../run-server.js';

/** Parsed flags → server config (the schema guarantees types and ranges). */
export function serverConfigFrom(o: ParsedOptions): ServerConfig {
  return {
    dataRoot: o.dataRoot as string,
    stateDir: o.stateDir as string | undefined,
    resetState: o.resetState as boolean,
    host: o.host as string,
    port: o.port as number,
    phaseTokenFile: o.phaseTokenFile as string | undefined,
    readTokenFile: o.readTokenFile as string | undefined,
    allowedOrigins: parseOriginList(o.allowedOrigins as string | undefined),
    snapshotInterval: o.snapshotInterval as number,
    pollInterval: o.pollInterval as number,
    rescanInterval: o.rescanInterval as number,
    phaseInterval: o.phaseInterval as number,
    phaseSample: o.phaseSample as number | 'all',
    replayBuffer: o.replayBuffer as number,
    clientQueueBytes: o.clientQueueBytes as number,
    pingInterval: o.pingInterval as number,
    webDir: o.webDir as string | undefined,
    hostThresholds: o.hostThresholds as string | undefined,
    logLevel: o.logLevel as LogLevel,
  };
}

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'Serve the dashboard for a data root: tail it, keep the live state, push it over WebSocket and HTTP.',
  options: SERVER_OPTIONS,
  async run(options) {
    const server = await startFullServer(serverConfigFrom(options));
    process.stderr.write(`cis490-dashboard: serving ${server.url}\n`);
    return runUntilSignal(server);
  },
};
