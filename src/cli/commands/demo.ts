import { DEMO_OPTIONS } from '../../config/schema.js';
import { startDemo } from '../../demo/demo.js';
import { errnoCode, UsageError } from '../../util/errors.js';
import type { Command } from '../command.js';
import { runUntilSignal } from '../run-server.js';
import { serverConfigFrom } from './serve.js';

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'A whole lab on this machine: make a synthetic data root, run a live simulator that keeps writing it (episodes, alerts, rotations, heartbeats, phases) and serve it.',
  options: DEMO_OPTIONS,
  async run(o) {
    // The demo owns the data root, state dir and phase token; every other server flag applies.
    const { dataRoot: _d, stateDir: _s, resetState: _r, phaseTokenFile: _p, ...server } = serverConfigFrom(o);
    let demo: Awaited<ReturnType<typeof startDemo>>;
    try {
      demo = await startDemo({
        ...(o.dir !== undefined ? { dir: o.dir as string } : {}),
        hosts: o.hosts as number,
        ratePerMinute: o.rate as number,
        server,
      });
    } catch (err) {
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
    const code = await runUntilSignal(demo.server, () => demo.simulator.stop());
    process.stderr.write(
      `cis490-dashboard demo: stopped. The data root is kept at ${demo.dataRoot}\n` +
        `  (continue with --dir ${demo.dir}, or delete that folder)\n`,
    );
    return code;
  },
};
