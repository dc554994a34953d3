import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WsHub } from '../bus/ws-hub.js';
import { futureDatedOrNull } from '../catalog/future-dated.js';
import { defaultStateDir } from '../config/schema.js';
import { SERVER_DEFAULTS, type ServerConfig } from '../config/server-config.js';
import { buildApp } from '../http/app.js';
import { isLoopbackHost, originCheck, ReadAuth } from '../http/auth.js';
import type { AppContext, PhaseMixSource } from '../http/context.js';
import { Metrics } from '../http/metrics.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import { CLOSE_GOING_AWAY, HEARTBEAT_INTERVAL_MS, type PhaseMix } from '../protocol/index.js';
import { type AgentHeartbeat, parseHeartbeat } from '../scaleout/heartbeat.js';
import { redactRedisUrl } from '../scaleout/redis-url.js';
import type { RunningServer } from '../server.js';
import { defaultWebDir, readToken } from '../services.js';
import { StateDirLock } from '../state/lock.js';
import { DashboardError, UsageError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { makeFolder } from '../util/make-folder.js';
import { within } from '../util/within.js';
import { AgentWatch } from './agent-watch.js';
import { migrateBareAlertActions } from './alert-actions.js';
import { Replica } from './replica.js';
import { replicaEpisodeRoutes } from './routes.js';

/** How long a detail or download waits for Redis to name the agent's URL (then 503). */
const HEARTBEAT_LOOKUP_MS = 1000;

export interface ReplicaServer
  extends Pick<RunningServer, 'url' | 'port' | 'app' | 'hub' | 'logger' | 'close'> {
  replica: Replica;
}

/** A replica's default state dir: one per (Redis URL, namespace). */
export function defaultReplicaStateDir(redis: string, namespace: string): string {
  const hash = createHash('sha256').update(`${redis}\n${namespace}`).digest('hex').slice(0, 12);
  return path.join(defaultStateDir(), `replica-${namespace}-${hash}`);
}

/** The pipeline's counters, none of which a replica has (it reads no files): zeros, for /metrics. */
function noFileStats(source: string) {
  return {
    source,
    lines: 0,
    accepted: 0,
    duplicates: 0,
    skipped: {},
    bytes_read: 0,
    file_size: 0,
    rotations: {},
    lost_bytes: 0,
    checkpoints_lost: 0,
    compressed_skipped: 0,
    invalid_utf8_lines: 0,
    batches: 0,
    bytes: 0,
    caught_up: true,
    input_error: null,
  };
}

/**
 * `serve --redis URL`: a dashboard replica. Owns its state dir (catalog and position), follows
 * the shared stream (src/replica/replica.ts) and serves the same app, WebSocket and API as one box,
 * the explorer from its catalog and episode details from the receivers' agents.
 */
export async function startReplicaServer(
  partial: Partial<ServerConfig> & { redis: string; signal?: AbortSignal },
): Promise<ReplicaServer> {
  const config: ServerConfig = { ...SERVER_DEFAULTS, ...partial };
  const redis = partial.redis;
  const logger = createLogger({ level: config.logLevel });
  const phaseToken = config.phaseTokenFile ? readToken(config.phaseTokenFile, 'phase-token') : null;
  const readTokenValue = config.readTokenFile ? readToken(config.readTokenFile, 'read-token') : null;
  const readAuth = readTokenValue !== null ? new ReadAuth(readTokenValue) : null;
  if (!isLoopbackHost(config.host) && !readAuth) {
    logger.warn({ host: config.host }, 'listening beyond loopback without --read-token');
  }
  const stateDir = path.resolve(config.stateDir ?? defaultReplicaStateDir(redis, config.namespace));
  makeFolder(stateDir);
  const lock = StateDirLock.acquire(stateDir, `redis:${redis}#${config.namespace}`);
  const metrics = new Metrics();
  let hub: WsHub | null = null;
  let replica: Replica;
  try {
    replica = await Replica.start({
      redisUrl: redis,
      ...(partial.signal ? { signal: partial.signal } : {}),
      namespace: config.namespace,
      stateDir,
      logger,
      replayBuffer: config.replayBuffer,
      // The agents take the same read token as the replicas (the detail proxy passes the viewer's).
      agentToken: readTokenValue,
      onRebase: (reason) => {
        hub?.disconnectAll(`the stream started over (${reason}): resume`);
        void migrateActions();
      },
    });
  } catch (err) {
    lock.release();
    throw err;
  }
  const { feed } = replica;
  const migrateActions = () =>
    migrateBareAlertActions({ feed, catalog: replica.catalog, stream: replica.stream, logger });
  await migrateActions();
  // Which receivers' agents are up: on every viewer's heartbeat, in /metrics and in a 503's
  // "last seen".
  const agents = new AgentWatch({ stream: replica.stream, logger, timeoutMs: HEARTBEAT_LOOKUP_MS });
  agents.start();
  hub = new WsHub({
    bus: feed,
    logger,
    queueCapBytes: config.clientQueueBytes,
    pingIntervalMs: config.pingInterval * 1000,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    agents: () => agents.statuses(),
    observeSendLatency: (seconds) => metrics.wsSendLatency.observe(seconds),
  });
  const liveHub = hub;
  const heartbeat = async (receiver: string): Promise<AgentHeartbeat | null> => {
    // While Redis is away the command waits in the client's queue: a detail request must not.
    const raw = await within(
      replica.stream.command(['GET', replica.stream.keys.heartbeat(receiver)]),
      HEARTBEAT_LOOKUP_MS,
      () =>
        new DashboardError(
          'heartbeat_lookup_timeout',
          `Redis did not answer the heartbeat lookup within ${HEARTBEAT_LOOKUP_MS} ms`,
        ),
    );
    const beat = parseHeartbeat(raw);
    agents.note(receiver, beat);
    return beat;
  };
  const lastSeen = (receiver: string): string | null => {
    const beat = agents.lastHeartbeat(receiver) ?? undefined;
    const event = replica.lastEventAt.get(receiver);
    const eventIso = event === undefined ? undefined : new Date(event).toISOString();
    if (beat === undefined) return eventIso ?? null;
    return eventIso !== undefined && eventIso > beat ? eventIso : beat;
  };
  const stats = (): PipelineStats => ({
    index: noFileStats('index'),
    alerts: noFileStats('alerts'),
    episodes_dir: { scans: 0, errors: 0, hosts: 0, files: 0, pending: 0 },
    health: { hosts: 0, skipped: 0 },
    catalog: null,
    remembered_ids: 0,
    ready: replica.ready,
    bootstrap_seconds: replica.bootstrapSeconds,
    bus: feed.stats(),
  });
  const phaseMix: PhaseMixSource = {
    current(host?: string): PhaseMix | null {
      const mix = feed.state.phase_mix;
      if (!mix || host === undefined) return mix;
      const one = mix.per_host[host];
      return one ? { ...mix, ...one, per_host: { [host]: one } } : null;
    },
    stats: () => {
      throw new Error('a replica computes no phase mix');
    },
  };
  metrics.bind(() => ({
    stats: stats(),
    state: feed.state,
    hub: liveHub.stats(),
    phaseMix: null,
    verifier: null,
    explorer: null,
    startedAt: replica.startedAt,
    catalogFault: null,
    futureDatedEpisodes: futureDatedOrNull(replica.catalog.db, 'replica_episodes'),
    agents: agents.statuses(),
  }));
  const ctx: AppContext = {
    events: feed,
    readiness: {
      get ready() {
        return replica.ready;
      },
      get bootstrapSeconds() {
        return replica.bootstrapSeconds;
      },
      startedAt: replica.startedAt,
      catalogGaps: () => {
        const status = replica.catalogStatus();
        return status.complete ? null : { complete: false, pending: status.pending };
      },
      streamError: () => replica.streamError,
      get startingReason() {
        const failed = replica.rebuildError;
        return failed === null
          ? {
              code: 'starting',
              message: 'catching up with the shared log (the receivers’ snapshots and the stream after them)',
            }
          : {
              code: 'replica_rebuild_failed',
              message: `cannot apply the shared log: ${failed}; trying again`,
            };
      },
    },
    catalog: replica.catalog.db,
    catalogHealth: { fault: null, reportError: () => false },
    stats,
    hub: liveHub,
    logger,
    dataRoot: '',
    phaseToken,
    phaseMix,
    metrics,
  };
  const stopAll = async (reason: string) => {
    agents.stop();
    await liveHub.close(CLOSE_GOING_AWAY, reason);
    await replica.stop();
    lock.release();
  };
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(ctx, {
      webDir: config.webDir ?? defaultWebDir(),
      readAuth,
      checkOrigin: originCheck(config.allowedOrigins ?? []),
      episodeRoutes: replicaEpisodeRoutes({ catalog: replica.catalog, heartbeat, lastSeen }),
      scaleOutAlerts: {
        groups: (filter) => replica.catalog.alertGroups(filter),
        receiversOf: (dedupKey) => replica.catalog.alertReceivers(dedupKey),
      },
    });
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await stopAll('server failed to start');
    if ((err as { code?: string }).code === 'EADDRINUSE') {
      throw new UsageError(
        'port_in_use',
        `--port ${config.port}: ${config.host}:${config.port} is already in use`,
      );
    }
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(
    { url, redis: redactRedisUrl(redis), namespace: config.namespace, stateDir },
    'listening (replica)',
  );
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    app,
    hub: liveHub,
    logger,
    replica,
    close: () => {
      closing ??= (async () => {
        agents.stop();
        await liveHub.close(CLOSE_GOING_AWAY, 'server shutting down');
        await app.close();
        await replica.stop();
        lock.release();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
