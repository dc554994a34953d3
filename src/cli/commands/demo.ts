import { DEMO_OPTIONS } from '../../config/schema.js';
import { startDemo } from '../../demo/demo.js';
import { errnoCode, UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { catchStopSignals, runUntilSignal } from '../run-server.js';
import { normalizeOrigins } from './serve.js';

export const demoCommand = defineCommand({
  name: 'demo',
  summary:
    'A whole lab on this machine: make a synthetic data root, run a live simulator that keeps writing it (episodes, alerts, rotations, heartbeats, phases) and serve it.',
  options: DEMO_OPTIONS,
  async run(o) {
    // The demo owns the data root, state dir and phase token; every other server flag applies.
    const { dir, hosts, rate, ...flags } = o;
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
