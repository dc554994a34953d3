import fs from 'node:fs';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { Type } from 'typebox';
import type { Logger } from '../util/log.js';
import { type OriginCheck, type ReadAuth, registerReadAuth } from './auth.js';
import type { AppContext } from './context.js';
import { catalogFaultReason, errorBody, HttpError } from './errors.js';
import { closeConnectionsPromptly } from './graceful-close.js';
import { lazyOpenApi } from './openapi.js';
import { MALFORMED_QUERY, parseQueryString } from './query-parser.js';
import { registerAlertLifecycleRoutes, type ScaleOutAlerts } from './routes/alert-lifecycle.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerEpisodeRoutes } from './routes/episodes.js';
import { registerPhaseRoutes } from './routes/phase.js';
import { registerStateRoutes } from './routes/state.js';
import { describeValidation, route, validatorCompiler } from './schemas.js';
import { clientErrorHandler, HELMET_OPTIONS, SECURITY_HEADERS } from './security.js';

/** Routes that read the catalog's episodes or alerts (their patterns, as Fastify names them). */
const CATALOG_QUERY = /^\/api\/(episodes|alerts)(\/|$)/;
/** The longest a catalog query waits for the live lines held for the catalog to be committed. */
export const CATALOG_SETTLE_MS = 1_000;

export interface BuildAppOptions {
  /** Built web app served at `/`; a missing folder serves a page saying how to build it. */
  webDir: string | null;
  /** Extra route registrations (tests). */
  routes?: Array<(app: FastifyInstance, ctx: AppContext) => void>;
  /** With `--read-token`: every route but /livez, /readyz and POST /api/phase requires it. */
  readAuth?: ReadAuth | null;
  /** Which `Origin` may open the WebSocket (`originCheck` in auth.ts); absent: any. */
  checkOrigin?: OriginCheck;
  /**
   * The explorer's routes (`/api/episodes…`) when they are not the data root's: a replica
   * (`serve --redis`) answers from its own catalog and proxies details to the receivers' agents.
   */
  episodeRoutes?: (app: FastifyInstance, ctx: AppContext) => void;
  /** A replica's alert groups (per receiver); a single box reads its catalog's. */
  scaleOutAlerts?: ScaleOutAlerts;
}

export interface BaseAppOptions {
  logger: Logger;
  /** With a read token: every route but /livez, /readyz and POST /api/phase requires it. */
  readAuth: ReadAuth | null;
  /** Plugins registered first (the OpenAPI document must see every route). */
  first?(app: FastifyInstance): PromiseLike<unknown>;
  /** Plugins registered after the security ones, before the read-token check (the WebSocket). */
  beforeAuth?(app: FastifyInstance): PromiseLike<unknown>;
  /** A 5xx error: answer it here (true) instead of with "internal error" (a catalog fault). */
  serverError?(err: FastifyError, reply: FastifyReply): boolean;
}

/**
 * The HTTP shell every app of ours shares (the dashboard, the scale-out agent): request limits,
 * validation, security headers, the read token, and one error handler — 4xx carry a message
 * saying what is wrong; 5xx say only "internal error". Returns the app and, for the WebSocket,
 * whether a request passed the read token.
 */
export async function createBaseApp(
  o: BaseAppOptions,
): Promise<{ app: FastifyInstance; wsAuthorized: (req: FastifyRequest) => boolean }> {
  const app: FastifyInstance = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the app's type the default one routes expect.
    loggerInstance: o.logger as FastifyBaseLogger,
    // Requests are not logged one by one (a wall display polls); errors are.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Valid JSON with a `__proto__` or `constructor.prototype` key is accepted with that key
    // dropped (never merged into a prototype), not refused.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    // What Node's parser refuses (a request head over 16 KiB: 431) answers in our error shape.
    clientErrorHandler,
    // Query strings like ?host=a&host=b arrive as arrays.
    routerOptions: { ignoreTrailingSlash: true, querystringParser: parseQueryString },
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

  // Requests are validated against the routes' TypeBox schemas (schemas.ts); replies are written
  // with JSON.stringify as before (their schemas document them, and a test checks real answers):
  // a generated serializer would drop the unknown fields the data root passes through.
  closeConnectionsPromptly(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await o.first?.(app);
  // Headers and CSP on every response (errors, 404s and static files too): set in onRequest.
  await app.register(fastifyHelmet, HELMET_OPTIONS);
  await app.register(fastifyCookie);
  // Limits are applied where they are decided (wrong tokens, phase posts), not on every route.
  await app.register(fastifyRateLimit, { global: false });
  app.addHook('onRequest', async (req, reply) => {
    if ((req.query as Record<symbol, unknown>)[MALFORMED_QUERY])
      return reply.code(400).send(errorBody('bad_url', 'malformed escape in the query string'));
  });
  await o.beforeAuth?.(app);
  const wsAuthorized = o.readAuth ? registerReadAuth(app, o.readAuth) : () => true;

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) req.log.warn({ code: err.code }, err.message);
      return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    }
    if (err.validation) {
      const part = err.validationContext ?? 'request';
      const code = part === 'querystring' ? 'bad_query' : part === 'body' ? 'bad_body' : 'bad_request';
      return reply.code(400).send(errorBody(code, describeValidation(err.validation, part)));
    }
    const status = err.statusCode ?? 500;
    // Only the static handler refuses with 403 (traversal spellings, dotfiles): answer like any
    // missing file, so a probe learns nothing.
    if (status === 403) return reply.code(404).send(errorBody('not_found', 'not found'));
    if (status < 500) {
      const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large' : 'bad_request';
      return reply.code(status).send(errorBody(code, err.message));
    }
    if (o.serverError?.(err, reply)) return reply;
    req.log.error({ err, url: req.url }, 'request failed');
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`));
  });
  return { app, wsAuthorized };
}

/**
 * Builds the HTTP app (no listening: the process shell in `server.ts` does that) on the shared
 * shell (`createBaseApp`): the OpenAPI document, the WebSocket, every route, metrics, the web app.
 */
export async function buildApp(ctx: AppContext, options: BuildAppOptions): Promise<FastifyInstance> {
  let openApiDocument: () => Promise<unknown> = async () => null;
  const { app, wsAuthorized } = await createBaseApp({
    logger: ctx.logger,
    readAuth: options.readAuth ?? null,
    // The OpenAPI document, generated from the same schemas on its first GET: every route is noted.
    first: async (app) => {
      openApiDocument = lazyOpenApi(app);
    },
    // /ws upgrades are routed through the app, so the hooks above and below run for them too.
    beforeAuth: (app) =>
      app.register(fastifyWebsocket, {
        options: { maxPayload: 4096, perMessageDeflate: false, clientTracking: false },
      }),
    // A corrupt catalog page: the explorer says so (and the next start rebuilds), not "internal".
    serverError: (err, reply) => {
      const fault = ctx.catalogHealth.reportError(err) ? catalogFaultReason(ctx.catalogHealth.fault) : null;
      if (!fault) return false;
      reply.code(503).send(errorBody(fault.code, fault.message));
      return true;
    },
  });
  // Explorer and alerts queries see every line a client was already sent: the live lines held for
  // the catalog (≤ 0.5 s, src/catalog/persister.ts) are committed first. Bounded: a writer that
  // cannot commit (a full disk) must not hang the explorer, which then answers from what is there.
  const settle = ctx.catalogSettled;
  if (settle) {
    app.addHook('preHandler', async (req) => {
      if (req.method !== 'GET' || !CATALOG_QUERY.test(req.routeOptions.url ?? '')) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        settle(),
        new Promise((resolve) => (timer = setTimeout(resolve, CATALOG_SETTLE_MS))),
      ]);
      clearTimeout(timer);
    });
  }
  // Request duration by route pattern (unmatched URLs share one label: bounded cardinality).
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpDuration.observe(
      {
        method: req.method,
        route: req.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  const checkOrigin = options.checkOrigin;
  app.route({
    method: 'GET',
    url: '/ws',
    schema: { hide: true },
    // Another site's page (cross-site WebSocket hijacking) is refused before the upgrade.
    onRequest: async (req, reply) => {
      if (!req.ws || !checkOrigin || checkOrigin(req.headers.origin, req.raw)) return;
      req.log.warn({ origin: req.headers.origin, remote: req.ip }, 'ws origin refused');
      return reply
        .code(403)
        .send(errorBody('forbidden_origin', 'this page’s origin may not open the WebSocket'));
    },
    // A plain GET (a browser tab, curl): told what the path is for, as JSON like every error.
    handler: async (_req, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .send(
          errorBody('upgrade_required', 'this is the WebSocket endpoint: connect with a WebSocket client'),
        ),
    wsHandler: (socket, req) => ctx.hub.accept(socket, req.raw, wsAuthorized(req)),
  });
  registerStateRoutes(app, ctx);
  registerAlertRoutes(app, ctx, options.scaleOutAlerts !== undefined);
  registerPhaseRoutes(app, ctx);
  (options.episodeRoutes ?? registerEpisodeRoutes)(app, ctx);
  registerAlertLifecycleRoutes(app, ctx, options.scaleOutAlerts);
  for (const register of options.routes ?? []) register(app, ctx);

  app.get('/api/openapi.json', { schema: route('This OpenAPI document.', { ok: Type.Unknown() }) }, () =>
    openApiDocument(),
  );

  app.get(
    '/metrics',
    { schema: route('Prometheus text exposition.', { content: 'text/plain' }) },
    async (_req, reply) => {
      reply.type(ctx.metrics.contentType);
      return ctx.metrics.render();
    },
  );

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
