import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Agent } from '../../agent/agent.js';
import { AGENT_OPTIONS, type AgentConfig, defaultStateDir } from '../../config/schema.js';
import { isLoopbackHost, ReadAuth } from '../../http/auth.js';
import { checkReceiverName, streamKeys } from '../../scaleout/keys.js';
import { checkRedisUrl, redactRedisUrl } from '../../scaleout/redis-url.js';
import { checkDataRoot, readToken } from '../../services.js';
import { DashboardError, UsageError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { packageVersion } from '../../util/package-root.js';
import { STOP_DEADLINE_MS } from '../../util/stop-budget.js';
import { defineCommand } from '../command.js';

/** `--listen HOST:PORT` (IPv6 in brackets: `[::1]:8491`). */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || !(port >= 0 && port <= 65535)) {
    throw new UsageError(
      'bad_listen',
      `--listen must be HOST:PORT (port 0–65535), got ${JSON.stringify(spec)}`,
    );
  }
  return { host, port };
}

/** The agent's flags checked (each mistake is one line and exit 2). */
export function agentSettings(o: AgentConfig) {
  const redisUrl = checkRedisUrl(o.redis);
  if (o.receiver === undefined) throw new UsageError('missing_receiver', '--receiver NAME is required');
  try {
    checkReceiverName(o.receiver);
    streamKeys(o.namespace);
  } catch (err) {
    if (err instanceof DashboardError) throw new UsageError(err.code, err.message);
    throw err;
  }
  checkDataRoot(o.dataRoot);
  return { redisUrl, receiver: o.receiver, listen: parseListen(o.listen) };
}

/**
 * Fault injection for the crash tests (not an operator setting): `CIS490_FAULT_KILL_AFTER_APPENDS=N`
 * SIGKILLs the agent the moment its Nth keyed append is answered, before its reader moves on.
 */
function faultHook(): { afterAppend?: () => void } {
  const n = Number(process.env.CIS490_FAULT_KILL_AFTER_APPENDS ?? 0);
  if (!(n > 0)) return {};
  let seen = 0;
  return {
    afterAppend: () => {
      if (++seen >= n) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** An agent's default state dir: one per (Redis URL, namespace, receiver). */
export function defaultAgentStateDir(redis: string, namespace: string, receiver: string): string {
  const hash = createHash('sha256').update(`${redis}\n${namespace}\n${receiver}`).digest('hex').slice(0, 12);
  return path.join(defaultStateDir(), `agent-${receiver}-${hash}`);
}

export const agentCommand = defineCommand({
  name: 'agent',
  summary:
    "Scale out: run one receiver's readers and append every event to the shared Redis stream; serve its episode details and downloads for replicas.",
  options: AGENT_OPTIONS,
  async run(options) {
    const { redisUrl, receiver, listen } = agentSettings(options);
    const dataRoot = path.resolve(options.dataRoot);
    const readAuth = options.readTokenFile
      ? new ReadAuth(readToken(options.readTokenFile, 'read-token'))
      : null;
    const logger = createLogger({ level: options.logLevel });
    if (!isLoopbackHost(listen.host) && !readAuth) {
      logger.warn(
        { listen: options.listen },
        'listening beyond loopback without --read-token: anyone who can reach this port can download episodes',
      );
    }
    // A signal while starting (Redis may not answer yet) ends the process at once: every append
    // is atomic in Redis, so there is nothing to flush.
    let stopRunning: ((signal: NodeJS.Signals) => void) | null = null;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopRunning) return stopRunning(signal);
      logger.info({ signal }, 'stopped while starting');
      process.exit(0);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Loaded only here, as `serve --redis` does: the Redis client is not every command's start-up
    // cost (its ~1.5 MB of modules were ~8 MiB of every plain server's RSS).
    const [{ startAgent }, { AgentEpisodeLookup, buildAgentApp }, { AgentMetrics }] = await Promise.all([
      import('../../agent/agent.js'),
      import('../../agent/http.js'),
      import('../../agent/metrics.js'),
    ]);
    const lookup = new AgentEpisodeLookup(dataRoot);
    let agent: Agent | null = null;
    let redisAway: { error: string; since: string } | null = null;
    const app = await buildAgentApp({
      dataRoot,
      logger,
      readAuth,
      lookup,
      ready: () => agent?.ready ?? false,
      redisAway: () => redisAway,
      nameConflict: () => agent?.nameConflict ?? null,
      rows: (q) => {
        if (!agent) throw new DashboardError('agent_starting', 'the agent has not started its run yet');
        return agent.exportRows(q);
      },
      metrics: new AgentMetrics(() => (agent ? { run: agent.run, ready: agent.ready } : null)),
    });
    await app.listen({ host: listen.host, port: listen.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : listen.port;
    const hostInUrl = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    const url = options.advertiseUrl ?? `http://${hostInUrl}:${port}`;
    process.stderr.write(
      `cis490-dashboard: agent ${receiver} serving ${url}, appending to ${redactRedisUrl(redisUrl)}\n`,
    );
    try {
      agent = await startAgent({
        dataRoot,
        receiver,
        redisUrl,
        namespace: options.namespace,
        logger,
        pollInterval: options.pollInterval,
        rescanInterval: options.rescanInterval,
        phaseInterval: options.phaseInterval,
        phaseSample: options.phaseSample,
        snapshotInterval: options.snapshotInterval,
        heartbeatInterval: options.heartbeatInterval,
        url,
        version: packageVersion(),
        onRedisAway: (away) => {
          redisAway = away;
        },
        stateDir: path.resolve(
          options.stateDir ?? defaultAgentStateDir(redisUrl, options.namespace, receiver),
        ),
        projections: [lookup],
        ...faultHook(),
      });
    } catch (err) {
      await app.close();
      throw err;
    }
    const running = agent;
    // Stops within 5 s (exit 0), or gives up (exit 1).
    return new Promise<number>((resolve) => {
      stopRunning = (signal) => {
        stopRunning = () => undefined;
        logger.info({ signal }, 'shutting down');
        const deadline = setTimeout(() => {
          logger.error('shutdown took longer than 5 s; exiting anyway');
          resolve(1);
        }, STOP_DEADLINE_MS);
        deadline.unref();
        void (async () => {
          await app.close();
          await running.stop();
          clearTimeout(deadline);
          resolve(0);
        })();
      };
    });
  },
});
