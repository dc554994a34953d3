import type { FastifyInstance } from 'fastify';
import { PEER_GRACE_MS } from '../util/stop-budget.js';

/** How long a response still being sent when the server closes (a download) may go on. */
export const CLOSE_GRACE_MS = PEER_GRACE_MS;
/** While closing, how often connections that have gone idle are closed. */
const SWEEP_MS = 50;

/**
 * Makes `app.close()` end its connections promptly. Fastify's close, like Node's `server.close()`,
 * closes only the connections idle at that moment: a download still being sent went back to
 * keep-alive when it ended and held the close — and a SIGTERM — for the keep-alive timeout (72 s;
 * a test's close hook once timed out on it). While closing, each connection is closed as soon as
 * its response is done, and whatever still sends after `graceMs` is cut.
 */
export function closeConnectionsPromptly(app: FastifyInstance, graceMs = CLOSE_GRACE_MS): void {
  app.addHook('preClose', (done) => {
    const server = app.server;
    const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    // Unref'd: a server that never listened emits no 'close' and must not be kept alive by these.
    sweep.unref();
    cut.unref();
    server.once('close', () => {
      clearInterval(sweep);
      clearTimeout(cut);
    });
    done();
  });
}
