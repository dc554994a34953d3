/**
 * `demo --cluster`: the scale-out topology on one machine. A real `redis-server` (AOF, fsync on
 * every write) in a temp folder; three simulated receivers, each a live simulator writing its own
 * data root with an agent appending it to the stream; two replicas (`serve --redis`) behind one
 * port that spreads viewers over both (`scaleout/balancer.ts`, round robin, no stickiness).
 * `stop()` (Ctrl-C) stops the simulators, then the agents and replicas, then Redis, and removes the
 * folder. Agents, replicas and Redis are child processes (killing one shows a failure's cost).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hostIds } from '../generate/generate.js';
import { Rng } from '../generate/rng.js';
import { type RunningBalancer, startBalancer } from '../scaleout/balancer.js';
import { redisServerArgs } from '../scaleout/redis-server-args.js';
import { UsageError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { packageRoot } from '../util/package-root.js';
import { backfill } from './backfill.js';
import { phaseClient } from './phase-client.js';
import { Receiver } from './receiver.js';
import { nodeReceiverFs } from './receiver-fs.js';
import { Simulator } from './simulator.js';

export interface ClusterDemoOptions {
  /** Hosts per receiver (every receiver has `host-01`…: the same names on different receivers). @default 4 */
  hosts?: number;
  /** Episodes per minute per receiver. @default 30 */
  ratePerMinute?: number;
  /** @default 3 */
  receivers?: number;
  /** @default 2 */
  replicas?: number;
  /** Where viewers connect (the balancer). @default 127.0.0.1 */
  host?: string;
  /** @default 8490; 0 picks a free one */
  port?: number;
  logger: Logger;
  /** The children's log level. @default 'warn' */
  childLogLevel?: string;
  seed?: number;
}

export interface ClusterChild {
  role: 'redis' | 'agent' | 'replica';
  name: string;
  pid: number;
  /** Where it serves (an agent's and a replica's URL; Redis's redis:// URL). */
  url: string;
}

export interface RunningClusterDemo {
  dir: string;
  url: string;
  redisUrl: string;
  children(): ClusterChild[];
  balancer: RunningBalancer;
  simulators: Simulator[];
  /** Resolves when a child exits on its own (the demo keeps running: that is a failure to watch). */
  onChildExit(listener: (child: ClusterChild, code: number | null, signal: string | null) => void): void;
  stop(): Promise<void>;
}

/** The CLI the children run: the package's own launcher (it picks the bundle or dist/). */
const CLI = path.join(packageRoot(), 'bin', 'cis490-dashboard.js');
const REDIS_MISSING =
  'redis-server is not on PATH: demo --cluster needs it (Debian package redis-server: sudo apt-get install -y redis-server)';

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

/**
 * Spawns a child in its own process group (a terminal's Ctrl-C reaches the demo only, which stops
 * the children in order) and resolves with the first match of `ready` in its output.
 */
async function spawnUntil(
  command: string,
  args: string[],
  ready: RegExp,
  what: string,
): Promise<Spawned & { match: RegExpMatchArray }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out = (out + chunk.toString('utf8')).slice(-20_000);
      const m = ready.exec(out);
      if (m) resolve(m);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT' && command === 'redis-server'
          ? new UsageError('redis_missing', REDIS_MISSING)
          : err,
      ),
    );
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `${what} exited before it was ready (code ${code}, signal ${signal}):\n${out.slice(-2000)}`,
        ),
      ),
    );
  });
  return { child, exited, output: () => out, match };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
async function stopChild(s: Spawned, graceMs = 8000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
  await s.exited;
  clearTimeout(timer);
}

export async function startClusterDemo(o: ClusterDemoOptions): Promise<RunningClusterDemo> {
  const receivers = o.receivers ?? 3;
  const replicas = o.replicas ?? 2;
  const hosts = o.hosts ?? 4;
  const rate = o.ratePerMinute ?? 30;
  const seed = o.seed ?? randomInt(2 ** 31 - 1);
  const childLog = o.childLogLevel ?? 'warn';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-cluster-'));
  const spawned: { info: ClusterChild; s: Spawned }[] = [];
  const simulators: Simulator[] = [];
  const exitListeners: ((c: ClusterChild, code: number | null, signal: string | null) => void)[] = [];
  let stopping = false;
  let balancer: RunningBalancer | null = null;
  // A demo that dies any other way still takes its children with it.
  const killAll = (): void => {
    for (const { s } of spawned)
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const keep = (info: ClusterChild, s: Spawned): void => {
    spawned.push({ info, s });
    s.child.once('exit', (code, signal) => {
      if (!stopping) for (const l of exitListeners) l(info, code, signal);
    });
  };

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.all(simulators.map((sim) => sim.stop()));
    await balancer?.close();
    // Readers first (agents, then replicas), Redis last: nobody logs a lost connection on the way out.
    await Promise.all(spawned.filter((c) => c.info.role === 'agent').map((c) => stopChild(c.s)));
    await Promise.all(spawned.filter((c) => c.info.role === 'replica').map((c) => stopChild(c.s)));
    await Promise.all(spawned.filter((c) => c.info.role === 'redis').map((c) => stopChild(c.s)));
    process.removeListener('exit', killAll);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const redisPort = await freePort('127.0.0.1');
    const redisDir = path.join(dir, 'redis');
    fs.mkdirSync(redisDir);
    const redis = await spawnUntil(
      'redis-server',
      redisServerArgs(redisPort, redisDir),
      /Ready to accept connections/,
      'redis-server',
    );
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    keep({ role: 'redis', name: 'redis', pid: redis.child.pid ?? 0, url: redisUrl }, redis);

    const token = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'phase-token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

    // Each receiver: a data root with the last hour's history, then its agent.
    const roots: { name: string; receiver: Receiver }[] = [];
    for (let i = 1; i <= receivers; i++) {
      const name = `rack-${i}`;
      const dataRoot = path.join(dir, name);
      fs.mkdirSync(path.join(dataRoot, 'health'), { recursive: true });
      const receiver = new Receiver(dataRoot, nodeReceiverFs, {});
      await backfill({
        receiver,
        hosts: hostIds(hosts),
        episodes: hosts * 6,
        alerts: 12,
        spanMs: 3_600_000,
        nowMs: Date.now(),
        telemetryKb: 16,
        rng: new Rng(seed + i).fork(0xbacf111),
      });
      roots.push({ name, receiver });
      const agent = await spawnUntil(
        process.execPath,
        [
          CLI,
          'agent',
          '--data-root',
          dataRoot,
          '--redis',
          redisUrl,
          '--receiver',
          name,
          '--state-dir',
          path.join(dir, `${name}-agent-state`),
          '--listen',
          '127.0.0.1:0',
          '--log-level',
          childLog,
        ],
        /agent \S+ serving (http:\/\/\S+?),? /,
        `agent ${name}`,
      );
      keep({ role: 'agent', name, pid: agent.child.pid ?? 0, url: agent.match[1] ?? '' }, agent);
    }

    const replicaUrls: string[] = [];
    for (let i = 1; i <= replicas; i++) {
      const replica = await spawnUntil(
        process.execPath,
        [
          CLI,
          'serve',
          '--redis',
          redisUrl,
          '--port',
          '0',
          '--state-dir',
          path.join(dir, `replica-${i}`),
          '--phase-token',
          tokenFile,
          '--log-level',
          childLog,
        ],
        /serving (http:\/\/\S+)/,
        `replica-${i}`,
      );
      const url = replica.match[1] ?? '';
      replicaUrls.push(url);
      keep({ role: 'replica', name: `replica-${i}`, pid: replica.child.pid ?? 0, url }, replica);
    }

    try {
      balancer = await startBalancer({
        upstreams: replicaUrls,
        host: o.host ?? '127.0.0.1',
        port: o.port ?? 8490,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UsageError(
          'port_in_use',
          `port ${o.port} on ${o.host} is in use: pass --port N (0 picks a free one)`,
        );
      }
      throw err;
    }
    // The orchestrator posts phases through the balancer, like any client: to any replica.
    const postPhase = phaseClient(balancer.url, token);
    roots.forEach(({ name, receiver }, i) => {
      const sim = new Simulator({
        receiver,
        postPhase,
        hosts: hostIds(hosts),
        ratePerMinute: rate,
        seed: seed + i,
        telemetryKb: 16,
        logger: o.logger.child({ component: 'demo', receiver: name }),
      });
      simulators.push(sim);
      sim.start();
    });
    const running = balancer;
    return {
      dir,
      url: running.url,
      redisUrl,
      children: () => spawned.map((c) => c.info),
      balancer: running,
      simulators,
      onChildExit: (l) => {
        exitListeners.push(l);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
