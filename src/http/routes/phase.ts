import type { FastifyInstance } from 'fastify';
import type { PhasePost } from '../../protocol/index.js';
import { normalizeTimestamp } from '../../util/time.js';
import type { AppContext } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import { onlyKnown, type RawQuery, single } from '../query.js';
import { TokenBucket } from '../rate-limit.js';
import { bearerToken, tokenMatches } from '../token.js';

/** Orchestrators post a handful of transitions per episode; this leaves ample room and stops floods. */
const PHASE_RATE_PER_SEC = 50;
const PHASE_BURST = 200;
const MAX_FIELD = 200;

function field(body: Record<string, unknown>, key: string, required: boolean): string | null {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new HttpError(400, 'bad_body', `field '${key}' is required`);
    return null;
  }
  if (typeof v !== 'string' || v === '' || v.length > MAX_FIELD) {
    throw new HttpError(
      400,
      'bad_body',
      `field '${key}' must be a non-empty string of at most ${MAX_FIELD} characters`,
    );
  }
  return v;
}

export function registerPhaseRoutes(app: FastifyInstance, ctx: AppContext): void {
  const bucket = new TokenBucket(PHASE_RATE_PER_SEC, PHASE_BURST);

  app.post('/api/phase', { bodyLimit: 16 * 1024 }, async (req, reply) => {
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
    if (!bucket.take()) throw new HttpError(429, 'rate_limited', 'too many phase events; slow down');
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'bad_body', 'body must be a JSON object {host_id, phase, episode_id?, at?}');
    }
    const b = body as Record<string, unknown> & Partial<PhasePost>;
    const host_id = field(b, 'host_id', true) as string;
    const phase = field(b, 'phase', true) as string;
    const episode_id = field(b, 'episode_id', false);
    let at = new Date().toISOString();
    if (b.at !== undefined && b.at !== null) {
      const normalized = normalizeTimestamp(b.at);
      if (normalized === null)
        throw new HttpError(400, 'bad_body', "field 'at' must be ISO-8601 or epoch seconds");
      at = normalized;
    }
    const event = ctx.events.publish({ type: 'phase', host_id, episode_id, phase, at });
    reply.code(202);
    return { seq: event.seq };
  });

  app.get('/api/phase-mix', async (req) => {
    const q = req.query as RawQuery;
    onlyKnown(q, ['host']);
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
