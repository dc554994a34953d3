import { IDEMPOTENCY_TTL_MS } from '../http/idempotency.js';
import type { AlertAction, UnsequencedEvent } from '../protocol/index.js';
import { hostKey } from '../protocol/receivers.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { ReplicaCatalog } from './catalog.js';
import { API_RECEIVER, type ReplicaFeed } from './feed.js';

/**
 * Alert actions stored before a replica keyed them `<receiver>/<dedup_key>` (a bare `dedup_key`,
 * no `receiver`) match no group any more. At start each one is moved, in one append, onto the
 * receivers holding alerts of that key — the one receiver, as a rule; every holder when several
 * do (the bare action covered their merged group then) — and the bare key is removed. The append
 * carries a request id per (key, action time), so replicas starting together move it once. A key
 * no receiver holds (its alerts not in this catalog) is left as it is and logged.
 */
export async function migrateBareAlertActions(o: {
  feed: ReplicaFeed;
  catalog: ReplicaCatalog;
  stream: RedisStreamLog;
  logger: Logger;
}): Promise<number> {
  let moved = 0;
  for (const [key, action] of Object.entries(o.feed.state.alert_actions ?? {})) {
    if (action.receiver !== undefined || key !== action.dedup_key) continue;
    const holders = o.catalog.alertReceivers(action.dedup_key);
    if (holders.length === 0) {
      o.logger.warn(
        { dedup_key: key },
        'alert action without a receiver: no receiver holds its alerts; left as it is',
      );
      continue;
    }
    const events: UnsequencedEvent[] = holders.map((receiver) => {
      const keyed: AlertAction = { ...action, receiver };
      return { type: 'alert_action', dedup_key: hostKey(receiver, action.dedup_key), action: keyed };
    });
    events.push({ type: 'alert_action', dedup_key: key, action: null });
    try {
      const result = await o.stream.append({
        receiver: API_RECEIVER,
        events,
        idempotency: { key: `migrate-action:${key}:${action.at}`, ttlMs: IDEMPOTENCY_TTL_MS },
      });
      if (result.status === 'appended') moved++;
      o.logger.info(
        { dedup_key: key, receivers: holders, status: result.status },
        'alert action of the single-receiver keying moved to <receiver>/<dedup_key>',
      );
    } catch (err) {
      o.logger.warn(
        { err: errorMessage(err), dedup_key: key },
        'alert action not migrated; next start tries again',
      );
    }
  }
  return moved;
}
