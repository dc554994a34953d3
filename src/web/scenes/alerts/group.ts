import type { AlertGroup } from '../../../protocol/api.js';
import type { AlertRecord } from '../../../protocol/index.js';

/**
 * Groups alerts by `dedup_key` (newest first in, newest first out), the client-side twin of
 * `/api/alerts?dedup=1` for when the API cannot be reached: only covers the alerts in the state.
 * An alert without a key is its own group.
 */
export function groupAlerts(alerts: readonly AlertRecord[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  alerts.forEach((alert, i) => {
    const key = alert.dedup_key ?? `\u0000${i}`;
    const g = groups.get(key);
    if (g === undefined) {
      groups.set(key, { ...alert, count: 1, first_seen: alert.detected_at, last_seen: alert.detected_at });
      return;
    }
    g.count += 1;
    if (alert.detected_at !== null && (g.first_seen === null || alert.detected_at < g.first_seen)) {
      g.first_seen = alert.detected_at;
    }
  });
  return [...groups.values()];
}

/** `items` of an AlertsPage asked with dedup=1, read as groups whatever the server sent. */
export function asGroups(items: readonly (AlertRecord | AlertGroup)[]): AlertGroup[] {
  return items.map((a) =>
    'count' in a && typeof a.count === 'number'
      ? (a as AlertGroup)
      : { ...a, count: 1, first_seen: a.detected_at, last_seen: a.detected_at },
  );
}
