import { type RunningServer, type ServerConfig, startServer } from '../server.js';

/** The CLI's `serve` and `demo` start the server here (every part is wired in by `startServer`). */
export async function startFullServer(
  config: Partial<ServerConfig> & { dataRoot: string },
): Promise<RunningServer> {
  return startServer(config);
}

/** Serves until SIGINT/SIGTERM, then shuts down within 5 s (exit 0), or 1 if it had to give up. */
export function runUntilSignal(
  server: Pick<RunningServer, 'logger' | 'close'>,
  onStop?: () => Promise<void>,
): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.logger.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        server.logger.error('shutdown took longer than 5 s; exiting anyway');
        resolve(1);
      }, 5000);
      deadline.unref();
      void (async () => {
        await onStop?.();
        await server.close();
        clearTimeout(deadline);
        resolve(0);
      })();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
