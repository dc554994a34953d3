import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { type ReadAuth, registerReadAuth } from './auth.js';
import type { AppContext } from './context.js';
import { catalogFaultReason, errorBody, HttpError } from './errors.js';
import { renderMetrics } from './metrics.js';
import { registerAlertLifecycleRoutes } from './routes/alert-lifecycle.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerEpisodeRoutes } from './routes/episodes.js';
import { registerPhaseRoutes } from './routes/phase.js';
import { registerStateRoutes } from './routes/state.js';

export interface BuildAppOptions {
  /** Built web app served at `/`; a missing folder serves a page saying how to build it. */
  webDir: string | null;
  /** Extra route registrations (tests). */
  routes?: Array<(app: FastifyInstance, ctx: AppContext) => void>;
  /** With `--read-token`: every route but /livez, /readyz and POST /api/phase requires it. */
  readAuth?: ReadAuth | null;
}

/** A strict policy: no inline script, no third-party origin, no framing. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Builds the HTTP app (no listening: the process shell in `server.ts` does that). One error
 * handler: 4xx carry a message saying what is wrong; 5xx say only "internal error".
 */
export async function buildApp(ctx: AppContext, options: BuildAppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the app's type the default one routes expect.
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // Requests are not logged one by one (a wall display polls); errors are.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Query strings like ?host=a&host=b arrive as arrays.
    routerOptions: { ignoreTrailingSlash: true },
    // Malformed URLs (bad escapes, over-long params) are answered before any hook runs: give them
    // the same headers and error shape as everything else.
    frameworkErrors(err, _req, rawReply) {
      // The reply's generics are unresolved in the factory's option type; it is a plain reply.
      const reply = rawReply as unknown as FastifyReply;
      const status = err.statusCode ?? 400;
      reply
        .headers(SECURITY_HEADERS)
        .code(status)
        .send(status < 500 ? errorBody('bad_url', 'malformed URL') : errorBody('internal', 'internal error'));
    },
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  if (options.readAuth) registerReadAuth(app, options.readAuth);

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) req.log.warn({ code: err.code }, err.message);
      return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    }
    const status = err.statusCode ?? 500;
    // Only the static handler refuses with 403 (traversal spellings, dotfiles): answer like any
    // missing file, so a probe learns nothing.
    if (status === 403) return reply.code(404).send(errorBody('not_found', 'not found'));
    if (status < 500) {
      const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large' : 'bad_request';
      return reply.code(status).send(errorBody(code, err.message));
    }
    // A corrupt catalog page: the explorer says so (and the next start rebuilds), not "internal".
    const fault = ctx.catalogHealth.reportError(err) ? catalogFaultReason(ctx.catalogHealth.fault) : null;
    if (fault) return reply.code(503).send(errorBody(fault.code, fault.message));
    req.log.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`));
  });

  registerStateRoutes(app, ctx);
  registerAlertRoutes(app, ctx);
  registerPhaseRoutes(app, ctx);
  registerEpisodeRoutes(app, ctx);
  registerAlertLifecycleRoutes(app, ctx);
  for (const register of options.routes ?? []) register(app, ctx);

  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return renderMetrics(ctx);
  });

  const webDir = options.webDir;
  if (webDir && fs.existsSync(path.join(webDir, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: path.resolve(webDir),
      index: ['index.html'],
      list: false,
      dotfiles: 'deny',
      // Hashed asset names can be cached for good; index.html must always be revalidated.
      setHeaders(res, file) {
        res.header(
          'cache-control',
          file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
      },
    });
  } else {
    app.get('/', async (_req, reply) => {
      reply.type('text/plain; charset=utf-8');
      return 'cis490-dashboard: the web app is not built. Run `npm run build`, then restart. The API is at /api/state.\n';
    });
  }
  return app;
}
