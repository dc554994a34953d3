import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import { normalizeTimestamp } from '../../util/time.js';
import type { AppContext } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import { IdempotentPublisher, idempotencyKey } from '../idempotency.js';
import { type RawQuery, single } from '../query.js';
import { PhaseMixQuery, PhaseMixSchema, PhasePostBody, route } from '../schemas.js';
import { exceeded } from '../security.js';
import { bearerToken, tokenMatches } from '../token.js';

/** Orchestrators post a handful of transitions per episode; this leaves ample room and stops floods. */
export const PHASE_POSTS_PER_SEC = 50;
export function registerPhaseRoutes(app: FastifyInstance, ctx: AppContext): void {
  const once = new IdempotentPublisher();
  // Authorised posts only, every orchestrator together (@fastify/rate-limit, one-second window).
  const limit = app.createRateLimit({
    max: PHASE_POSTS_PER_SEC,
    timeWindow: 1000,
    keyGenerator: () => 'phase-posts',
  });

  const postSchema = route('A live phase transition from the orchestrator (phase token).', {
    body: PhasePostBody,
    ok: Type.Object({ seq: Type.Number() }),
    okStatus: 202,
  });
  app.post(
    '/api/phase',
    {
      bodyLimit: 16 * 1024,
      schema: postSchema,
      // Who may post is settled before the body is read or validated.
      onRequest: async (req, reply) => {
        if (ctx.phaseToken === null) {
          throw new HttpError(
            503,
            'phase_disabled',
            'POST /api/phase is disabled: start the server with --phase-token FILE',
          );
        }
        if (!tokenMatches(bearerToken(req.headers.authorization), ctx.phaseToken)) {
          reply.header('www-authenticate', 'Bearer');
          throw new HttpError(401, 'unauthorized', 'a valid Authorization: Bearer token is required');
        }
        if (exceeded(await limit(req))) {
          reply.header('retry-after', '1');
          throw new HttpError(429, 'rate_limited', 'too many phase events; slow down');
        }
      },
    },
    async (req, reply) => {
      const b = req.body as Static<typeof PhasePostBody>;
      let at = new Date().toISOString();
      if (b.at !== undefined && b.at !== null) {
        const normalized = normalizeTimestamp(b.at);
        if (normalized === null)
          throw new HttpError(400, 'bad_body', "field 'at' must be ISO-8601 or epoch seconds");
        at = normalized;
      }
      const { seq, duplicate } = await once.publish(ctx.events, 'phase', idempotencyKey(req.headers), {
        type: 'phase',
        host_id: b.host_id,
        episode_id: b.episode_id ?? null,
        phase: b.phase,
        at,
      });
      if (duplicate) reply.header('idempotent-replayed', 'true');
      reply.code(202);
      return { seq };
    },
  );

  const mixSchema = route("The dataset phase mix, or one host's; 404 before the first computation.", {
    querystring: PhaseMixQuery,
    ok: PhaseMixSchema,
  });
  app.get('/api/phase-mix', { schema: mixSchema }, async (req) => {
    const q = req.query as RawQuery;
    const host = single(q, 'host');
    const mix = ctx.phaseMix?.current(host) ?? null;
    if (!mix) {
      throw host === undefined
        ? notFound('the phase mix has not been computed yet')
        : notFound(`no phase mix for host '${host}'`);
    }
    return mix;
  });
}
