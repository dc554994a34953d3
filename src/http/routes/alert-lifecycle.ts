import type { FastifyInstance } from 'fastify';
import { AlertActionStore } from '../../catalog/alert-actions.js';
import {
  ALERT_STATES,
  type AlertActionPost,
  type AlertLifecycleResponse,
  type AlertState,
  alertState,
  countStates,
} from '../../protocol/alerts.js';
import type { AlertAction } from '../../protocol/index.js';
import { normalizeTimestamp } from '../../util/time.js';
import type { AppContext } from '../context.js';
import { badQuery, HttpError } from '../errors.js';
import { intParam, list, type RawQuery, single } from '../query.js';
import {
  AlertActionBody,
  AlertActionDeleteQuery,
  AlertActionRemovedSchema,
  AlertActionSchema,
  AlertLifecycleQuery,
  AlertLifecycleSchema,
  route,
} from '../schemas.js';
import { bearerToken, tokenMatches } from '../token.js';

const MAX_TEXT = 200;

function text(body: Record<string, unknown>, key: string, required: boolean): string | null {
  const v = body[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw new HttpError(400, 'bad_body', `field '${key}' is required`);
    return null;
  }
  if (typeof v !== 'string' || v.length > MAX_TEXT) {
    throw new HttpError(400, 'bad_body', `field '${key}' must be a string of at most ${MAX_TEXT} characters`);
  }
  return v;
}

/** Acting on alerts needs the operator's token: the phase token (the one write credential). */
function requireOperator(ctx: AppContext, authorization: string | undefined): void {
  if (ctx.phaseToken === null) {
    throw new HttpError(
      503,
      'actions_disabled',
      'acknowledging and silencing alerts is disabled: start the server with --phase-token FILE',
    );
  }
  if (!tokenMatches(bearerToken(authorization), ctx.phaseToken)) {
    throw new HttpError(401, 'unauthorized', 'a valid Authorization: Bearer <phase token> is required');
  }
}

/**
 * The alert lifecycle (issue 15 item 3): `GET /api/alerts/lifecycle` (every group with its state
 * and the counts), `POST /api/alerts/actions` (acknowledge or silence a group) and
 * `DELETE /api/alerts/actions?dedup_key=` (take that back). Actions are stored in the catalog and
 * published as `alert_action` events, so every open page sees them at once.
 */
export function registerAlertLifecycleRoutes(app: FastifyInstance, ctx: AppContext): void {
  const store = new AlertActionStore(ctx.catalog);

  // The operator's token is settled before the body is read or validated.
  const operator = {
    onRequest: async (req: { headers: { authorization?: string } }) =>
      requireOperator(ctx, req.headers.authorization),
  };
  const lifecycle = route('Every alert group with its lifecycle state, and the counts by state.', {
    querystring: AlertLifecycleQuery,
    ok: AlertLifecycleSchema,
  });
  app.get('/api/alerts/lifecycle', { schema: lifecycle }, async (req): Promise<AlertLifecycleResponse> => {
    const q = req.query as RawQuery;
    const states = list(q, 'state');
    for (const s of states) {
      if (!(ALERT_STATES as readonly string[]).includes(s)) {
        throw badQuery(`query parameter 'state' must be one of ${ALERT_STATES.join(', ')}, got '${s}'`);
      }
    }
    const limit = intParam(q, 'limit', 1, 5000) ?? 500;
    const state = ctx.events.state;
    const now = Date.now();
    const all = store
      .groups({ hosts: list(q, 'host'), symptoms: list(q, 'symptom') })
      .map((g) => alertState(g, state, now));
    const matching = states.length ? all.filter((g) => states.includes(g.state as AlertState)) : all;
    return { items: matching.slice(0, limit), counts: countStates(all), total: matching.length };
  });

  const act = route('Acknowledge or silence an alert group (phase token).', {
    body: AlertActionBody,
    ok: AlertActionSchema,
    okStatus: 201,
  });
  app.post('/api/alerts/actions', { bodyLimit: 16 * 1024, schema: act, ...operator }, async (req, reply) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'bad_body', 'body must be a JSON object {dedup_key, kind, by, until?, note?}');
    }
    const b = body as Record<string, unknown> & Partial<AlertActionPost>;
    const dedup_key = text(b, 'dedup_key', true) as string;
    const by = text(b, 'by', true) as string;
    if (b.kind !== 'acknowledge' && b.kind !== 'silence') {
      throw new HttpError(400, 'bad_body', "field 'kind' must be 'acknowledge' or 'silence'");
    }
    let until: string | null = null;
    if (b.until !== undefined && b.until !== null && b.until !== '') {
      until = normalizeTimestamp(b.until);
      if (until === null)
        throw new HttpError(400, 'bad_body', "field 'until' must be ISO-8601 or epoch seconds");
      if (Date.parse(until) <= Date.now())
        throw new HttpError(400, 'bad_body', "field 'until' must be in the future");
    }
    if (b.kind === 'silence' && until === null) {
      throw new HttpError(400, 'bad_body', "a silence needs 'until' (ISO-8601 or epoch seconds)");
    }
    const action: AlertAction = {
      dedup_key,
      kind: b.kind,
      by,
      at: new Date().toISOString(),
      until,
      note: text(b, 'note', false),
    };
    store.put(action);
    // On a replica (`serve --redis`) this appends to the shared stream: answered once it is there.
    await ctx.events.publish({ type: 'alert_action', dedup_key, action });
    ctx.logger.info({ dedup_key, kind: action.kind, by, until }, 'alert action');
    reply.code(201);
    return action;
  });

  const unact = route("Take back an alert group's acknowledgement or silence (phase token).", {
    querystring: AlertActionDeleteQuery,
    ok: AlertActionRemovedSchema,
  });
  app.delete('/api/alerts/actions', { schema: unact, ...operator }, async (req) => {
    const q = req.query as RawQuery;
    const dedup_key = single(q, 'dedup_key');
    if (dedup_key === undefined) throw badQuery("query parameter 'dedup_key' is required");
    const removed = store.remove(dedup_key);
    if (removed) await ctx.events.publish({ type: 'alert_action', dedup_key, action: null });
    return { removed };
  });
}

/** The stored actions into the live state, at start (before any client connects). */
export function publishStoredAlertActions(ctx: Pick<AppContext, 'catalog' | 'events'>): void {
  for (const action of new AlertActionStore(ctx.catalog).all()) {
    // Only one box calls this (its publish is synchronous); a replica's actions live in the stream.
    void ctx.events.publish({ type: 'alert_action', dedup_key: action.dedup_key, action });
  }
}
