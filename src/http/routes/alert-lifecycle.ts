import type { FastifyInstance } from 'fastify';
import { AlertActionStore } from '../../catalog/alert-actions.js';
import {
  ALERT_STATES,
  type AlertActionPost,
  type AlertLifecycleResponse,
  type AlertState,
  actionKey,
  alertState,
  countStates,
} from '../../protocol/alerts.js';
import type { AlertGroup } from '../../protocol/api.js';
import { type AlertAction, own } from '../../protocol/index.js';
import { normalizeTimestamp } from '../../util/time.js';
import type { AppContext } from '../context.js';
import { badQuery, HttpError } from '../errors.js';
import { IdempotentPublisher, idempotencyKey } from '../idempotency.js';
import { intParam, list, type RawQuery, receiverList, single } from '../query.js';
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
 * Where a replica (`serve --redis`) finds its alert groups: by (receiver, `dedup_key`), each
 * naming its receiver, so the lifecycle keys its actions `<receiver>/<dedup_key>`.
 */
export interface ScaleOutAlerts {
  groups(filter: {
    hosts: readonly string[];
    symptoms: readonly string[];
    receivers: readonly string[];
  }): AlertGroup[];
  /** The receivers holding alerts of a `dedup_key`. */
  receiversOf(dedupKey: string): string[];
}

/** `receiver` is a replica's: a single box has none and says so. */
export function noReceiverHere(): HttpError {
  return badQuery("'receiver' applies to a replica (serve --redis) only: a single box has one receiver");
}

/**
 * The receiver an action on a replica is for: the one named, else the only receiver holding that
 * `dedup_key` (400 when none does, 409 when several do and the request did not choose).
 */
function receiverFor(alerts: ScaleOutAlerts, dedupKey: string, named: string | null): string {
  if (named !== null) return named;
  const holders = alerts.receiversOf(dedupKey);
  if (holders.length === 1) return holders[0] as string;
  if (holders.length === 0) {
    throw new HttpError(
      400,
      'receiver_required',
      `no receiver holds alert group '${dedupKey}': name its 'receiver'`,
    );
  }
  throw new HttpError(
    409,
    'ambiguous_receiver',
    `receivers ${holders.join(', ')} all hold alert group '${dedupKey}': name its 'receiver'`,
  );
}

/**
 * The alert lifecycle (issue 15 item 3): `GET /api/alerts/lifecycle` (every group with its state
 * and the counts), `POST /api/alerts/actions` (acknowledge or silence a group) and
 * `DELETE /api/alerts/actions?dedup_key=` (take that back). Actions are stored in the catalog and
 * published as `alert_action` events, so every open page sees them at once. On a replica
 * (`scaleOut`), groups are per (receiver, `dedup_key`), every route takes `receiver`, and the
 * actions live in the shared stream (keyed `<receiver>/<dedup_key>`), not in this catalog.
 */
export function registerAlertLifecycleRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  scaleOut?: ScaleOutAlerts,
): void {
  const store = new AlertActionStore(ctx.catalog);
  // A retried POST (`Idempotency-Key` as the first) appends nothing more.
  const once = new IdempotentPublisher();

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
    const filter = { hosts: list(q, 'host'), symptoms: list(q, 'symptom'), receivers: receiverList(q) };
    if (!scaleOut && filter.receivers.length) throw noReceiverHere();
    const all = (scaleOut ?? store).groups(filter).map((g) => alertState(g, state, now));
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
      throw new HttpError(
        400,
        'bad_body',
        'body must be a JSON object {dedup_key, kind, by, until?, note?, receiver?}',
      );
    }
    const b = body as Record<string, unknown> & Partial<AlertActionPost>;
    const requestId = idempotencyKey(req.headers);
    const dedup_key = text(b, 'dedup_key', true) as string;
    const by = text(b, 'by', true) as string;
    const named = text(b, 'receiver', false);
    if (!scaleOut && named !== null) throw new HttpError(400, 'bad_body', noReceiverHere().message);
    const receiver = scaleOut ? receiverFor(scaleOut, dedup_key, named) : null;
    // A receiver no agent has appended for: the action would stay in every replica's state for
    // good, matching no group (a typo of a receiver's name, say).
    if (receiver !== null && own(ctx.events.state.receivers ?? {}, receiver) === undefined) {
      throw new HttpError(400, 'unknown_receiver', `no receiver '${receiver}' in the shared log`);
    }
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
      ...(receiver === null ? {} : { receiver }),
      kind: b.kind,
      by,
      at: new Date().toISOString(),
      until,
      note: text(b, 'note', false),
    };
    const key = actionKey(action) as string;
    // A replica's actions live in the shared stream (this publish appends there, answered once it is).
    const { duplicate } = await once.publish(
      ctx.events,
      'alert_action',
      requestId,
      { type: 'alert_action', dedup_key: key, action },
      () => {
        if (!scaleOut) store.put(action);
      },
    );
    reply.code(201);
    if (duplicate) {
      reply.header('idempotent-replayed', 'true');
      // Answered as the first was: the action it stored (its time, not this retry's), while it stands.
      return own(ctx.events.state.alert_actions ?? {}, key) ?? action;
    }
    ctx.logger.info({ dedup_key, receiver, kind: action.kind, by, until }, 'alert action');
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
    const named = single(q, 'receiver') ?? null;
    if (!scaleOut) {
      if (named !== null) throw noReceiverHere();
      const removed = store.remove(dedup_key);
      if (removed) await ctx.events.publish({ type: 'alert_action', dedup_key, action: null });
      return { removed };
    }
    const key = actionKey({ dedup_key, receiver: receiverFor(scaleOut, dedup_key, named) }) as string;
    const removed = own(ctx.events.state.alert_actions, key) !== undefined;
    if (removed) await ctx.events.publish({ type: 'alert_action', dedup_key: key, action: null });
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
