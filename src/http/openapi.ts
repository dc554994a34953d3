import type { FastifyInstance, RouteOptions } from 'fastify';

/** What the OpenAPI document says about the API as a whole (the routes say the rest). */
const OPENAPI = {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'cis490-dashboard',
      version: '1',
      description: 'Live operations dashboard for the CIS490 episode-collection lab (read-only API).',
    },
    components: {
      securitySchemes: {
        readToken: { type: 'http', scheme: 'bearer', description: 'The --read-token, when set.' },
      },
    },
  },
} as const;

/** The part of a route the document is generated from (everything but its handler and hooks). */
type DocumentedRoute = Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>;

/**
 * `GET /api/openapi.json`: the document `@fastify/swagger` generates from the routes' TypeBox
 * schemas, built on the first request instead of at start. Call before any route is added: it
 * notes each route as it is added (every route of the app, plugins' included); the first request
 * loads @fastify/swagger (and its YAML library), registers those routes with no-op handlers on a
 * private Fastify instance that never listens, and keeps the document. A server no script asks
 * for its API description never pays for it (~1 MiB of heap and 2–4 MiB of RSS, BENCHMARKS.md).
 */
export function lazyOpenApi(app: FastifyInstance): () => Promise<unknown> {
  // The options themselves, read when the document is made (as @fastify/swagger does): hooks that
  // run after this one may still change them (@fastify/websocket hides the /ws route's schema).
  const routes: DocumentedRoute[] = [];
  app.addHook('onRoute', (r) => {
    routes.push(r);
  });
  let document: Promise<unknown> | null = null;
  return () => {
    document ??= generate(routes).catch((err: unknown) => {
      document = null; // a failure is not kept: the next request tries again
      throw err;
    });
    return document;
  };
}

async function generate(routes: readonly DocumentedRoute[]): Promise<unknown> {
  const [{ default: Fastify }, { default: fastifySwagger }] = await Promise.all([
    import('fastify'),
    import('@fastify/swagger'),
  ]);
  // The app's HEAD routes are in `routes` already (noted as Fastify added them).
  const shadow = Fastify({ exposeHeadRoutes: false });
  // Nothing is validated or serialised here: the schemas only describe.
  shadow.setValidatorCompiler(() => () => true);
  shadow.setSerializerCompiler(() => (data) => JSON.stringify(data));
  try {
    await shadow.register(fastifySwagger, OPENAPI);
    for (const r of routes) {
      shadow.route({
        method: r.method,
        url: r.url,
        ...(r.schema ? { schema: r.schema } : {}),
        ...(r.config ? { config: r.config } : {}),
        handler: async () => null,
      });
    }
    await shadow.ready();
    return shadow.swagger();
  } finally {
    await shadow.close();
  }
}
