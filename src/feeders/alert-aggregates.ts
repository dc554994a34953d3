import { type AlertRecord, dict, RECENT_LIMIT } from '../protocol/index.js';
import { prependNewest } from './recent.js';

/** Running alert totals for the snapshot, seeded from the catalog at start-up. */
export class AlertAggregates {
  total_alerts = 0;
  /** Newest first. */
  recent: AlertRecord[] = [];
  host_last_alert = dict<AlertRecord>();

  constructor(seed?: {
    total_alerts: number;
    recent_alerts: AlertRecord[];
    host_last_alert: Record<string, AlertRecord>;
  }) {
    if (seed) {
      this.total_alerts = seed.total_alerts;
      this.recent = seed.recent_alerts.slice(0, RECENT_LIMIT);
      this.host_last_alert = dict(seed.host_last_alert);
    }
  }

  add(records: readonly AlertRecord[]): void {
    this.total_alerts += records.length;
    for (const a of records) if (a.host_id !== null) this.host_last_alert[a.host_id] = a;
    if (records.length > 0) this.recent = prependNewest(this.recent, records, RECENT_LIMIT);
  }

  /**
   * A compact batch (`scanAlertRange`): `count` alerts, of which `recent` are the last (file
   * order) and `hostLast` each host's last — what `add` of all of them would leave.
   */
  addCompact(count: number, recent: readonly AlertRecord[], hostLast: readonly AlertRecord[]): void {
    this.total_alerts += count;
    for (const a of hostLast) if (a.host_id !== null) this.host_last_alert[a.host_id] = a;
    if (recent.length > 0) this.recent = prependNewest(this.recent, recent, RECENT_LIMIT);
  }

  snapshotFields(): {
    total_alerts: number;
    recent_alerts: AlertRecord[];
    host_last_alert: Record<string, AlertRecord>;
  } {
    return {
      total_alerts: this.total_alerts,
      recent_alerts: this.recent.slice(),
      host_last_alert: dict(this.host_last_alert),
    };
  }
}
