import { DEMO_OPTIONS, type DemoConfig } from '../../config/schema.js';
import { startDemo } from '../../demo/demo.js';
import { errnoCode, UsageError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { defineCommand } from '../command.js';
import { runUntilSignal } from '../run-server.js';
import { catchStopSignals } from '../stop-signals.js';
import { normalizeOrigins } from './serve.js';

export const demoCommand = defineCommand({
  name: 'demo',
  summary:
    'A whole lab on this machine: make a synthetic data root, run a live simulator that keeps writing it (episodes, alerts, rotations, heartbeats, phases) and serve it.',
  options: DEMO_OPTIONS,
  async run(o) {
    if (o.cluster) return runCluster(o);
    // The demo owns the data root, state dir and phase token; every other server flag applies.
    const { dir, hosts, rate, cluster: _c, ...flags } = o;
    const server = { ...flags, allowedOrigins: normalizeOrigins(flags.allowedOrigins) };
    const signals = catchStopSignals();
    let demo: Awaited<ReturnType<typeof startDemo>>;
    try {
      demo = await startDemo({
        ...(dir !== undefined ? { dir } : {}),
        hosts,
        ratePerMinute: rate,
        server,
      });
    } catch (err) {
      signals.dispose();
      if (errnoCode(err) === 'EADDRINUSE') {
        throw new UsageError(
          'port_in_use',
          `port ${server.port} on ${server.host} is in use: pass --port N (0 picks a free one)`,
        );
      }
      throw err;
    }
    process.stderr.write(
      `cis490-dashboard demo: data root ${demo.dataRoot}\n` +
        `cis490-dashboard demo: serving ${demo.url}  (Ctrl-C stops)\n`,
    );
    const code = await runUntilSignal(demo.server, signals, () => demo.simulator.stop());
    process.stderr.write(
      `cis490-dashboard demo: stopped. The data root is kept at ${demo.dataRoot}\n` +
        `  (continue with --dir ${demo.dir}, or delete that folder)\n`,
    );
    return code;
  },
});

/** `demo --cluster`: Redis, three receivers with agents, two replicas behind one port; Ctrl-C stops all. */
async function runCluster(o: DemoConfig): Promise<number> {
  if (o.dir !== undefined) {
    throw new UsageError(
      'bad_flag',
      '--dir does not apply to demo --cluster (it runs in a temp folder removed at exit)',
    );
  }
  const logger = createLogger({ level: o.logLevel });
  // Loaded only here: the Redis client is not every command's start-up cost.
  const { startClusterDemo } = await import('../../demo/cluster.js');
  const demo = await startClusterDemo({
    hosts: o.hosts,
    ratePerMinute: o.rate,
    host: o.host,
    port: o.port,
    logger,
  });
  for (const c of demo.children()) {
    process.stderr.write(`cis490-dashboard demo --cluster: ${c.role} ${c.name} pid ${c.pid} ${c.url}\n`);
  }
  demo.onChildExit((c, code, signal) =>
    logger.warn(
      { child: c.name, role: c.role, pid: c.pid, code, signal },
      'a cluster process exited; the rest runs on',
    ),
  );
  process.stderr.write(`cis490-dashboard demo --cluster: serving ${demo.url}  (Ctrl-C stops all of it)\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'stopping the cluster demo');
  await demo.stop();
  process.stderr.write(`cis490-dashboard demo --cluster: stopped; ${demo.dir} removed\n`);
  return 0;
}
