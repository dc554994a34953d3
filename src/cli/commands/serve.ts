import fs from 'node:fs';
import { SERVER_OPTIONS, type ServerConfig } from '../../config/schema.js';
import { normalizeOrigin } from '../../http/auth.js';
import { checkRedisUrl, redactRedisUrl } from '../../scaleout/redis-url.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { runUntilSignal, startFullServer } from '../run-server.js';
import { catchStopSignals } from '../stop-signals.js';

/** `--allowed-origin` entries as origins; anything but a bare http(s) origin is a usage error. */
export function normalizeOrigins(list: readonly string[]): string[] {
  return list.map(normalizeOrigin);
}

/** Parsed flags → server config: the schema gave the types and ranges; origins are normalised. */
export function serverConfigFrom(o: ServerConfig): ServerConfig {
  return { ...o, allowedOrigins: normalizeOrigins(o.allowedOrigins) };
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary:
    'Serve the dashboard for a data root: tail it, keep the live state, push it over WebSocket and HTTP.',
  options: SERVER_OPTIONS,
  async run(options) {
    if (options.webDir !== undefined) checkWebDir(options.webDir);
    // Caught before the start: a signal sent the moment the "serving" line appears is a clean stop.
    const signals = catchStopSignals();
    if (options.redis !== undefined) {
      const redis = checkRedisUrl(options.redis);
      // Scale-out: a replica of the shared stream (no data root of its own). Loaded only then: the
      // Redis client is not every command's start-up cost.
      let replica: Awaited<ReturnType<typeof import('../../replica/server.js').startReplicaServer>>;
      // A replica waits for Redis at start; a signal meanwhile stops the wait (it once had to be killed).
      const starting = new AbortController();
      void signals.first.then(() => starting.abort());
      try {
        const { startReplicaServer } = await import('../../replica/server.js');
        replica = await startReplicaServer({ ...serverConfigFrom(options), redis, signal: starting.signal });
      } catch (err) {
        signals.dispose();
        if (starting.signal.aborted) {
          process.stderr.write('cis490-dashboard: stopped before the shared log answered\n');
          return 0;
        }
        throw err;
      }
      process.stderr.write(
        `cis490-dashboard: serving ${replica.url} (replica of ${redactRedisUrl(redis)})\n`,
      );
      return runUntilSignal(replica, signals);
    }
    let server: Awaited<ReturnType<typeof startFullServer>>;
    try {
      server = await startFullServer(serverConfigFrom(options));
    } catch (err) {
      signals.dispose();
      throw err;
    }
    process.stderr.write(`cis490-dashboard: serving ${server.url}\n`);
    return runUntilSignal(server, signals);
  },
});

/**
 * A `--web-dir` named on purpose must be a folder: a wrong path once served "the web app is not
 * built. Run `npm run build`", which sends the user to the wrong fix. (An empty folder serves the
 * API alone.)
 */
function checkWebDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError('web_dir_missing', `--web-dir ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError('web_dir_not_dir', `--web-dir ${dir} is not a folder`);
}
