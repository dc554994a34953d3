import type { LogLevel } from '../util/log.js';

/** Everything `serve` accepts; every field has a flag and a CIS490_* variable (see config/schema.ts). */
export interface ServerConfig {
  dataRoot: string;
  /** Owned by this process while it runs. @default one per data root (see defaultStateDirFor) */
  stateDir?: string | undefined;
  /** Set aside a catalog that belongs to another data root instead of refusing to start. */
  resetState?: boolean | undefined;
  /** @default '127.0.0.1' */
  host: string;
  /** @default 8490; 0 picks a free port */
  port: number;
  phaseTokenFile?: string | undefined;
  readTokenFile?: string | undefined;
  /** Origins besides the server's own whose pages may open the WebSocket (a reverse proxy's). */
  allowedOrigins?: readonly string[] | undefined;
  /** Seconds. @default 30 */
  snapshotInterval: number;
  /** Seconds. @default 0.5 */
  pollInterval: number;
  /** Seconds. @default 60 */
  rescanInterval: number;
  /** Seconds. @default 600 */
  phaseInterval: number;
  /** @default 'all' */
  phaseSample: number | 'all';
  /** @default 10000 */
  replayBuffer: number;
  /** @default 1 MiB */
  clientQueueBytes: number;
  /** Seconds. @default 25 */
  pingInterval: number;
  webDir?: string | undefined;
  /** `--host-thresholds`: host status thresholds over the defaults (see protocol/host-status.ts). */
  hostThresholds?: string | undefined;
  /** @default 'info' */
  logLevel: LogLevel;
}

export const SERVER_DEFAULTS: Omit<ServerConfig, 'dataRoot' | 'stateDir' | 'resetState'> = {
  host: '127.0.0.1',
  port: 8490,
  snapshotInterval: 30,
  pollInterval: 0.5,
  rescanInterval: 60,
  phaseInterval: 600,
  phaseSample: 'all',
  replayBuffer: 10_000,
  clientQueueBytes: 1024 * 1024,
  pingInterval: 25,
  logLevel: 'info',
};
