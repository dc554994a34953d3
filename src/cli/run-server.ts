import { type RunningServer, type ServerConfig, startServer } from '../server.js';

/** The CLI's `serve` and `demo` start the server here (every part is wired in by `startServer`). */
export async function startFullServer(
  config: Partial<ServerConfig> & { dataRoot: string },
): Promise<RunningServer> {
  return startServer(config);
}

/** SIGINT/SIGTERM caught from the moment `catchStopSignals` ran; `first` resolves with the first. */
export interface StopSignals {
  readonly first: Promise<NodeJS.Signals>;
  /** Gives the signals back to their default action (after the shutdown, or a failed start). */
  dispose(): void;
}

/**
 * Catches SIGINT and SIGTERM from now on. Called before the server starts: a signal that comes
 * while it starts (a supervisor stopping it, a test that stops it the moment it says where it
 * serves) is a clean stop once it is up, never the default action, death by the signal. That
 * window used to be open until after the "serving" line: a server that met a corrupt catalog,
 * busy rebuilding it, now and then died by the SIGTERM sent on that line.
 */
export function catchStopSignals(): StopSignals {
  let resolveFirst: (signal: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => {
    resolveFirst = resolve;
  });
  // Kept until dispose(): a second signal during the shutdown is ignored (the 5 s deadline bounds it).
  const onSignal = (signal: NodeJS.Signals) => resolveFirst(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    first,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
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
    }, 5000);
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
