import { HeartbeatWriter, type NameConflict } from '../scaleout/heartbeat.js';
import { checkReceiverName } from '../scaleout/keys.js';
import { isTransientRedisError } from '../scaleout/redis-errors.js';
import { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { DashboardError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { AgentRowStore, type ExportedRow, type RowGap } from './rows.js';
import { AgentRun, type AgentRunOptions } from './run.js';

export interface AgentOptions extends Omit<AgentRunOptions, 'log' | 'onEpochChanged' | 'rows'> {
  /** Where the agent keeps its row store (`agent-rows.sqlite`); null keeps it in memory (tests). */
  stateDir: string | null;
  redisUrl: string;
  /** The key namespace (hash tag). @default 'cis490' */
  namespace?: string;
  /** Seconds between snapshots of this receiver's state (one is also written at start). */
  snapshotInterval: number;
  /** Seconds between heartbeats; the key lives three of them. */
  heartbeatInterval: number;
  /** Written in the heartbeat: where replicas reach this agent's HTTP (details and downloads). */
  url: string;
  version: string;
  /**
   * Told when Redis stops answering while the agent starts (the error, since when) and, with
   * null, when it answers again: `/readyz` names it as the reason the agent is not ready.
   */
  onRedisAway?(away: { error: string; since: string } | null): void;
}

/**
 * Runs `step` until Redis answers it: a connection lost or refused (Redis restarting, still loading
 * its AOF) is tried again after a pause; anything else is thrown. Starting while Redis is away
 * waits for it.
 */
async function untilRedisAnswers<T>(
  logger: Logger,
  what: string,
  step: () => Promise<T>,
  redis: RedisAwayNote,
): Promise<T> {
  let warned = false;
  for (;;) {
    try {
      const result = await step();
      redis.back();
      return result;
    } catch (err) {
      if (!isTransientRedisError(err)) throw err;
      if (!warned)
        logger.warn({ err: errorMessage(err), step: what }, 'redis away while starting; trying again');
      warned = true;
      redis.away(err);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Whether Redis answers the agent's start-up steps, told to `onRedisAway` when that changes. */
interface RedisAwayNote {
  away(err: unknown): void;
  back(): void;
}

function redisAwayNote(onRedisAway: AgentOptions['onRedisAway']): RedisAwayNote {
  let away: { error: string; since: string } | null = null;
  return {
    away(err) {
      if (away !== null) return;
      away = { error: errorMessage(err), since: new Date().toISOString() };
      onRedisAway?.(away);
    },
    back() {
      if (away === null) return;
      away = null;
      onRedisAway?.(null);
    },
  };
}

/** What `GET /api/rows` asks: this receiver's catalog rows with `after < seq <= upto`. */
export interface RowExportQuery {
  epoch: string;
  after: number;
  upto: number;
  limit: number;
}

export interface RowExportPage {
  epoch: string;
  rows: ExportedRow[];
  /** More rows up to `upto` after the last one given. */
  more: boolean;
  /** False when the store lacks seqs in the asked range for good (`gap`). */
  complete: boolean;
  gap: RowGap | null;
}

/** A running agent: the readers of one receiver's data root appending to the shared stream. */
export interface Agent {
  readonly log: RedisStreamLog;
  /** The current run (a new one after the stream's epoch changed). */
  readonly run: AgentRun;
  readonly ready: boolean;
  /** Another agent writing this receiver's heartbeat (one `--receiver` name twice); null: none. */
  readonly nameConflict: NameConflict | null;
  whenReady(): Promise<void>;
  /** Writes a snapshot now (tests, shutdown). */
  snapshot(): Promise<void>;
  /** One page of the row export (`epoch_mismatch` when the stream or the store is in another epoch). */
  exportRows(q: RowExportQuery): Promise<RowExportPage>;
  stop(): Promise<void>;
}

/**
 * Starts an agent (DESIGN §3, scale-out): connects to Redis, restores this receiver's state from
 * its snapshot and the stream, resumes the readers from its marks, writes a snapshot at start and
 * every `snapshotInterval`, and a heartbeat every `heartbeatInterval`. When the stream's epoch
 * changes (Redis lost its data) the run is replaced by a new one that sends every file from byte 0.
 */
export async function startAgent(o: AgentOptions): Promise<Agent> {
  checkReceiverName(o.receiver);
  const logger: Logger = o.logger.child({ receiver: o.receiver });
  const redis = redisAwayNote(o.onRedisAway);
  const log = await untilRedisAnswers(
    logger,
    'connect',
    () =>
      RedisStreamLog.open({
        url: o.redisUrl,
        ...(o.namespace ? { namespace: o.namespace } : {}),
        logger,
        // The client waits for an unreachable Redis itself: each failed try is said here.
        onConnectError: (err) => redis.away(err),
      }),
    redis,
  );
  let rows: AgentRowStore;
  try {
    rows = new AgentRowStore(o.stateDir, logger);
  } catch (err) {
    await log.close();
    throw err;
  }
  let stopped = false;
  let restarting: Promise<void> | null = null;
  const runOptions: AgentRunOptions = {
    ...o,
    logger,
    log,
    rows,
    onEpochChanged: () => {
      restarting ??= (async () => {
        await run.stop();
        await untilRedisAnswers(logger, 'read the new epoch', () => log.ensureEpoch(), redis);
        if (!stopped) run = await untilRedisAnswers(logger, 'start', () => AgentRun.start(runOptions), redis);
      })()
        .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'agent run restart failed'))
        .finally(() => {
          restarting = null;
        });
    },
  };
  let run: AgentRun;
  try {
    run = await untilRedisAnswers(logger, 'start', () => AgentRun.start(runOptions), redis);
  } catch (err) {
    await log.close();
    rows.close();
    throw err;
  }
  const heartbeat = new HeartbeatWriter({
    log,
    receiver: o.receiver,
    url: o.url,
    version: o.version,
    intervalMs: o.heartbeatInterval * 1000,
    logger,
  });
  await heartbeat.start();
  const snapshot = async () => {
    if (restarting) return;
    try {
      const result = await run.appender.snapshot();
      logger.debug({ result }, 'snapshot written');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'snapshot not written');
    }
  };
  const timer = setInterval(() => void snapshot(), o.snapshotInterval * 1000);
  timer.unref();

  return {
    log,
    get run() {
      return run;
    },
    get ready() {
      return run.ready;
    },
    get nameConflict() {
      return heartbeat.conflict;
    },
    whenReady: () => run.whenReady(),
    snapshot,
    async exportRows(q) {
      if (restarting || rows.epoch !== q.epoch || log.epoch !== q.epoch) {
        throw new DashboardError(
          'epoch_mismatch',
          `rows of epoch ${q.epoch} asked; this agent appends in epoch ${rows.epoch ?? log.epoch}`,
          { epoch: rows.epoch ?? log.epoch },
        );
      }
      await run.reconcileRows();
      const page = rows.page(q.after, q.upto, q.limit + 1);
      const gap = rows.gap;
      return {
        epoch: q.epoch,
        rows: page.slice(0, q.limit),
        more: page.length > q.limit,
        complete: gap === null || gap.to <= q.after || gap.from > q.upto,
        gap,
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await restarting;
      // A clean stop says "down" at once; with Redis away the key expires by itself.
      await Promise.race([heartbeat.stop(true), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      const runStopped = run.stop();
      // Closing the connection fails whatever still waits for Redis, so the readers can stop.
      await log.close();
      await runStopped;
      rows.close();
    },
  };
}
