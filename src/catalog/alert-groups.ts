/**
 * Alert groups: the alerts of one `dedup_key` (an alert without one is its own group), each with
 * its count, newest alert and first and last detection. The one definition of a group, read by
 * the lifecycle (`AlertActionStore.groups`) and by `GET /api/alerts?dedup=1` on a single box.
 *
 * Counted as the alerts are written (`alert_groups`, one row per dedup_key, host and symptom,
 * kept by `AlertStore` in the alerts' own transaction), not by grouping every alert on each read:
 * the web app reads the lifecycle again after each new alert (at most once a second, on every
 * open page), and the grouping of 300,000 alerts took ≈ 0.3 s (`?dedup=1`: 0.6 s) on the event
 * loop, growing with every alert a lab's weeks add. A time range (`from`/`to`) is still grouped
 * from the alerts in it.
 */

export interface AlertGroupFilter {
  hosts: readonly string[];
  symptoms: readonly string[];
  /** Detection time bounds (ms since the epoch), inclusive. */
  fromMs?: number | undefined;
  toMs?: number | undefined;
}

/** The upsert of one alert into its group's row (`alert_groups`). */
export const ADD_TO_ALERT_GROUP = `INSERT INTO alert_groups (part, dedup_key, host_id, symptom, n, last_id, first_seen, last_seen)
  VALUES (json_array(@dedupKey, @hostId, @symptom), @dedupKey, @hostId, @symptom, 1, @id, @at, @at)
  ON CONFLICT(part) DO UPDATE SET n = n + 1, last_id = max(last_id, excluded.last_id),
    first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
    last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen))`;

/** `alert_groups` counted from the alerts there are (the migration that adds it). */
export const FILL_ALERT_GROUPS = `INSERT INTO alert_groups (part, dedup_key, host_id, symptom, n, last_id, first_seen, last_seen)
  SELECT json_array(dedup_key, host_id, symptom), dedup_key, host_id, symptom, count(*), max(id),
         min(detected_at), max(detected_at)
  FROM alerts WHERE dedup_key IS NOT NULL GROUP BY 1`;

/**
 * A statement yielding every group under `filter` as rows `(last_id, n, first_seen, last_seen)`,
 * with its parameters: to be wrapped (paged by `last_id`, counted, joined to its newest alert).
 */
export function alertGroupsSql(filter: AlertGroupFilter): { sql: string; params: Array<string | number> } {
  // `unary` (`+host_id`): the column checked on each row, not an index searched by it.
  const where = (timed: boolean, unary = '') => {
    const conds: string[] = [];
    const params: Array<string | number> = [];
    if (filter.hosts.length) {
      conds.push(`${unary}host_id IN (${filter.hosts.map(() => '?').join(',')})`);
      params.push(...filter.hosts);
    }
    if (filter.symptoms.length) {
      conds.push(`${unary}symptom IN (${filter.symptoms.map(() => '?').join(',')})`);
      params.push(...filter.symptoms);
    }
    if (timed && filter.fromMs !== undefined) {
      conds.push('detected_ms >= ?');
      params.push(filter.fromMs);
    }
    if (timed && filter.toMs !== undefined) {
      conds.push('detected_ms <= ?');
      params.push(filter.toMs);
    }
    return { conds, params };
  };
  if (filter.fromMs !== undefined || filter.toMs !== undefined) {
    // Only the alerts in the range count: grouped from them.
    const w = where(true);
    const keyed = w.conds.length ? `WHERE ${w.conds.join(' AND ')}` : '';
    return {
      sql: `SELECT max(id) AS last_id, count(*) AS n, min(detected_at) AS first_seen, max(detected_at) AS last_seen
            FROM alerts ${keyed} GROUP BY dedup_key IS NULL, coalesce(dedup_key, id)`,
      params: w.params,
    };
  }
  // The kept rows of each dedup_key (one per host and symptom under it), and the alerts without
  // one: each its own group, found through the dedup_key index (by the host index, a host filter
  // read every alert of the host: 70–120 ms for 12,000).
  const kept = where(false);
  const loose = where(false, '+');
  return {
    sql: `SELECT max(last_id) AS last_id, sum(n) AS n, min(first_seen) AS first_seen, max(last_seen) AS last_seen
          FROM alert_groups ${kept.conds.length ? `WHERE ${kept.conds.join(' AND ')}` : ''} GROUP BY dedup_key
          UNION ALL
          SELECT id, 1, detected_at, detected_at FROM alerts
          WHERE dedup_key IS NULL${loose.conds.length ? ` AND ${loose.conds.join(' AND ')}` : ''}`,
    params: [...kept.params, ...loose.params],
  };
}
