import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AlertActionStore } from '../../catalog/alert-actions.js';
import { alertState } from '../../protocol/alerts.js';
import type { HostSummary, HostsResponse } from '../../protocol/api.js';
import { hostStatusIn, openAlertsByHost } from '../../protocol/host-status.js';
import { type DashboardState, own } from '../../protocol/index.js';
import { splitHostKey } from '../../protocol/receivers.js';
import type { AppContext } from '../context.js';
import { catalogFaultReason } from '../errors.js';
import { ApiErrorSchema, DashboardStateSchema, HostsResponseSchema, NoQuery, route } from '../schemas.js';

/**
 * Every host any input knows of, with what each input says about it and its status by the web
 * app's rule (protocol/host-status.ts) over `open` (open alert groups per host).
 */
export function hostSummaries(
  state: DashboardState,
  open: ReturnType<typeof openAlertsByHost> = new Map(),
  now = Date.now(),
): HostSummary[] {
  const ids = new Set([
    ...Object.keys(state.hosts_indexed),
    ...Object.keys(state.host_counts),
    ...Object.keys(state.health),
    ...Object.keys(state.host_last_alert),
    ...Object.keys(state.live_phases),
    ...Object.keys(state.integrity?.hosts ?? {}),
  ]);
  // Scale-out: keys are `<receiver>/<host>`, and a summary names both.
  const scaleOut = state.receivers !== undefined;
  return [...ids].sort().map((key) => {
    const host_id = key;
    // own(): the state's maps are keyed by host ids from the data (`constructor` is a host here).
    const indexed = own(state.hosts_indexed, host_id);
    const { status, reasons } = hostStatusIn(state, host_id, open, now);
    return {
      ...splitHostKey(key, scaleOut),
      status,
      status_reasons: reasons,
      episodes: indexed?.episodes ?? 0,
      bytes: indexed?.bytes ?? 0,
      files_on_disk: own(state.host_counts, host_id) ?? 0,
      bytes_on_disk: own(state.host_bytes, host_id) ?? 0,
      last_received_at: indexed?.last_received_at ?? null,
      health: own(state.health, host_id) ?? null,
      last_alert: own(state.host_last_alert, host_id) ?? null,
      live_phase: own(state.live_phases, host_id) ?? null,
      integrity: own(state.integrity?.hosts, host_id) ?? {},
    };
  });
}

export function registerStateRoutes(app: FastifyInstance, ctx: AppContext): void {
  // Opened on first use: the alert lifecycle's store (its table is created by whoever comes first).
  let alerts: AlertActionStore | null = null;
  const stateSchema = route('The whole live state; x-cis490-epoch and x-cis490-seq say as of which event.', {
    querystring: NoQuery,
    ok: DashboardStateSchema,
  });
  app.get('/api/state', { schema: stateSchema }, async (_req, reply) => {
    const { events } = ctx;
    reply.header('x-cis490-epoch', events.epoch).header('x-cis490-seq', String(events.seq));
    return events.state;
  });

  const hostsSchema = route('Every host any input knows, with its status.', {
    querystring: NoQuery,
    ok: HostsResponseSchema,
  });
  app.get('/api/hosts', { schema: hostsSchema }, async (): Promise<HostsResponse> => {
    const state = ctx.events.state;
    const now = Date.now();
    alerts ??= new AlertActionStore(ctx.catalog);
    const groups = alerts.groups({ hosts: [], symptoms: [] }).map((g) => alertState(g, state, now));
    return { hosts: hostSummaries(state, openAlertsByHost(groups), now) };
  });

  const livez = route('200 while the process is up.', { ok: Type.Object({ status: Type.Literal('ok') }) });
  app.get('/livez', { schema: livez }, async () => ({ status: 'ok' }));

  const readyBody = Type.Object({
    ready: Type.Boolean(),
    bootstrap_seconds: Type.Union([Type.Number(), Type.Null()]),
    reason: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    data_root: Type.Optional(Type.Unknown()),
    catalog: Type.Optional(Type.Unknown()),
    stream: Type.Optional(Type.Object({ error: Type.String(), since: Type.String() })),
  });
  const readyz = {
    ...route('200 once the first pass is done and the tailers caught up; 503 (with the reason) before.', {
      ok: readyBody,
    }),
  };
  readyz.response = { ...(readyz.response as object), 503: readyBody, '5xx': ApiErrorSchema };
  app.get('/readyz', { schema: readyz }, async (_req, reply) => {
    const fault = catalogFaultReason(ctx.catalogHealth.fault);
    // A data root that is missing or unreadable is not "ready with nothing in it".
    const dataRoot = ctx.events.state.data_root;
    const rootReason =
      dataRoot && !dataRoot.ok
        ? { code: 'data_root_unavailable', message: `data root ${dataRoot.path} ${dataRoot.error}` }
        : null;
    const ready = ctx.readiness.ready && fault === null && rootReason === null;
    // A first pass that cannot begin says why (an input file it may not read), not "starting".
    const inputReason = ready || rootReason || fault ? null : inputFault(ctx);
    reply.code(ready ? 200 : 503);
    const gaps = ctx.readiness.catalogGaps?.() ?? null;
    const stream = ctx.readiness.streamError?.() ?? null;
    const body = {
      ready,
      bootstrap_seconds: ctx.readiness.bootstrapSeconds,
      ...(gaps ? { catalog: gaps } : {}),
      ...(stream ? { stream: { error: stream.message, since: stream.since } } : {}),
    };
    if (ready) return body;
    return {
      ...body,
      ...(rootReason ? { data_root: dataRoot } : {}),
      reason: rootReason ??
        fault ??
        inputReason ??
        ctx.readiness.startingReason ?? {
          code: 'starting',
          message: 'the first pass over the data root is not done yet',
        },
    };
  });
}

/** Why an input file cannot be read now (`input_unreadable`), or null. */
function inputFault(ctx: AppContext): { code: string; message: string } | null {
  const stats = ctx.stats();
  for (const source of [stats.index, stats.alerts]) {
    const e = source?.input_error;
    if (e) return { code: 'input_unreadable', message: `cannot read ${e.path}: ${e.message}` };
  }
  return null;
}
