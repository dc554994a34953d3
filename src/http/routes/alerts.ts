import type { FastifyInstance } from 'fastify';
import { alertGroupsSql } from '../../catalog/alert-groups.js';
import { hostsWhere } from '../../catalog/hosts-where.js';
import { alertFromRow } from '../../catalog/ingest-store.js';
import type { AlertGroup, AlertsPage } from '../../protocol/api.js';
import type { AppContext } from '../context.js';
import { assertCatalogWritable, badQuery } from '../errors.js';
import {
  boolParam,
  decodeCursor,
  encodeCursor,
  intParam,
  list,
  type RawQuery,
  receiverList,
  timeParam,
} from '../query.js';
import { AlertsPageSchema, AlertsQuery, route } from '../schemas.js';
import { noReceiverHere } from './alert-lifecycle.js';

const COLUMNS = 'id, host_id, symptom, detail, suggested_fix, detected_at, dedup_key, extra';

type Row = Parameters<typeof alertFromRow>[0] & { receiver?: string | null };

/** A catalog row as the API gives it, with its receiver on a replica. */
function alertItem(row: Row) {
  const item = alertFromRow(row);
  return typeof row.receiver === 'string' ? { ...item, receiver: row.receiver } : item;
}

/**
 * `GET /api/alerts`: alerts from the catalog, newest first, keyset-paged; `dedup=1` groups them by
 * `dedup_key` with a count and first/last seen. On a replica (`scaleOut`), as the lifecycle routes:
 * `receiver=` keeps those receivers' alerts, `host=r/h` is that receiver's host (a bare `h` every
 * receiver's), each item names its receiver and `dedup=1` groups by (receiver, `dedup_key`); a
 * single box answers `receiver=` with 400. A listing is never ambiguous: no 409 here.
 */
export function registerAlertRoutes(app: FastifyInstance, ctx: AppContext, scaleOut = false): void {
  const schema = route('Alerts from the catalog, newest first, keyset-paged.', {
    querystring: AlertsQuery,
    ok: AlertsPageSchema,
  });
  app.get('/api/alerts', { schema }, async (req): Promise<AlertsPage> => {
    const q = req.query as RawQuery;
    const hosts = list(q, 'host');
    const symptoms = list(q, 'symptom');
    const receivers = receiverList(q);
    if (!scaleOut && receivers.length) throw noReceiverHere();
    const from = timeParam(q, 'from');
    const to = timeParam(q, 'to');
    const limit = intParam(q, 'limit', 1, 500) ?? 100;
    const dedup = boolParam(q, 'dedup');
    if (from !== undefined && to !== undefined && from > to)
      throw badQuery("query parameter 'from' is after 'to'");
    const after = pageAfter(decodeCursor(q, 2), dedup ? GROUPS_CURSOR : ALERTS_CURSOR);
    assertCatalogWritable(ctx.catalogHealth.fault);
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (hosts.length && scaleOut) {
      where.push(hostsWhere(hosts, params));
    } else if (hosts.length) {
      where.push(`host_id IN (${hosts.map(() => '?').join(',')})`);
      params.push(...hosts);
    }
    if (receivers.length) {
      where.push(`receiver IN (${receivers.map(() => '?').join(',')})`);
      params.push(...receivers);
    }
    if (symptoms.length) {
      where.push(`symptom IN (${symptoms.map(() => '?').join(',')})`);
      params.push(...symptoms);
    }
    if (from !== undefined) {
      where.push('detected_ms >= ?');
      params.push(from);
    }
    if (to !== undefined) {
      where.push('detected_ms <= ?');
      params.push(to);
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const db = ctx.catalog;
    const columns = scaleOut ? `${COLUMNS}, receiver` : COLUMNS;

    if (!dedup) {
      const pageWhere = after === null ? whereSql : `${whereSql ? `${whereSql} AND` : 'WHERE'} id < ?`;
      const rows = db
        .prepare(`SELECT ${columns} FROM alerts ${pageWhere} ORDER BY id DESC LIMIT ?`)
        .all(...params, ...(after === null ? [] : [after]), limit + 1) as Array<Row & { id: number }>;
      const total =
        (db
          .prepare(`SELECT count(*) FROM alerts ${whereSql}`)
          .pluck()
          .get(...params) as number) ?? 0;
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map(alertItem),
        next_cursor: rows.length > limit && last ? encodeCursor([ALERTS_CURSOR, last.id]) : null,
        total,
      };
    }

    // A replica's groups are per (receiver, dedup_key): two receivers' keys are two groups. A
    // single box's are the catalog's (catalog/alert-groups.ts: counted as alerts are written).
    const { sql: grouped, params: groupParams } = scaleOut
      ? {
          sql: `SELECT coalesce(receiver, '') || char(0) || coalesce(dedup_key, '#' || id) AS g, max(id) AS last_id,
                count(*) AS n, min(detected_at) AS first_seen, max(detected_at) AS last_seen
                FROM alerts ${whereSql} GROUP BY g`,
          params,
        }
      : alertGroupsSql({ hosts, symptoms, fromMs: from, toMs: to });
    const groups = db
      .prepare(
        `SELECT * FROM (${grouped}) ${after === null ? '' : 'WHERE last_id < ?'} ORDER BY last_id DESC LIMIT ?`,
      )
      .all(...groupParams, ...(after === null ? [] : [after]), limit + 1) as Array<{
      last_id: number;
      n: number;
      first_seen: string | null;
      last_seen: string | null;
    }>;
    const total = db
      .prepare(`SELECT count(*) FROM (${grouped})`)
      .pluck()
      .get(...groupParams) as number;
    const byId = db.prepare(`SELECT ${columns} FROM alerts WHERE id = ?`);
    const page = groups.slice(0, limit);
    const items: AlertGroup[] = page.map((g) => ({
      ...alertItem(byId.get(g.last_id) as Row),
      count: g.n,
      first_seen: g.first_seen,
      last_seen: g.last_seen,
    }));
    const last = page[page.length - 1];
    return {
      items,
      next_cursor: groups.length > limit && last ? encodeCursor([GROUPS_CURSOR, last.last_id]) : null,
      total,
    };
  });
}

/**
 * A page cursor names its listing (alerts, or groups with `dedup`) and the row id it ends at: a
 * cursor of the other listing (whose ids mean another thing) or a made-up id is refused, not
 * answered with a page that skips rows.
 */
const ALERTS_CURSOR = 'alerts';
const GROUPS_CURSOR = 'groups';

function pageAfter(cursor: Array<string | number | null> | undefined, listing: string): number | null {
  if (cursor === undefined) return null;
  const [kind, id] = cursor;
  if (kind === listing && typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return id;
  throw badQuery(`query parameter 'cursor' is not a cursor this server issued for this listing`);
}
