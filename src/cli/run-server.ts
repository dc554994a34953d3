import { type RunningServer, type ServerConfig, startServer } from '../server.js';
import { STOP_DEADLINE_MS } from '../util/stop-budget.js';
import type { StopSignals } from './stop-signals.js';

/** The CLI's `serve` and `demo` start the server here (every part is wired in by `startServer`). */
export async function startFullServer(
  config: Partial<ServerConfig> & { dataRoot: string },
): Promise<RunningServer> {
  return startServer(config);
}

/**
 * Serves until the first of `signals`, then shuts down within 5 s (exit 0), or 1 if it had to
 * give up. `signals` come from `catchStopSignals()`, called before the server was started.
 */
export async function runUntilSignal(
  server: Pick<RunningServer, 'logger' | 'close'>,
  signals: StopSignals,
  onStop?: () => Promise<void>,
): Promise<number> {
  const signal = await signals.first;
  server.logger.info({ signal }, 'shutting down');
  let deadline: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<number>((resolve) => {
    deadline = setTimeout(() => {
      server.logger.error('shutdown took longer than 5 s; exiting anyway');
      resolve(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
  });
  const closed = (async () => {
    await onStop?.();
    await server.close();
    return 0;
  })();
  try {
    return await Promise.race([closed, gaveUp]);
  } finally {
    clearTimeout(deadline);
    signals.dispose();
  }
}
