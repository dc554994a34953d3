/**
 * The alert lifecycle, one rule for the server (`GET /api/alerts/lifecycle`) and the web app (which
 * re-evaluates it as health and episodes stream in). An alert group (`dedup_key`) is open until:
 * - what it reported is over (`resolved`): a heartbeat after `heartbeat_missed`, free disk after
 *   `disk_low`, a short queue or a new episode after `shipper_stuck`;
 * - an operator silenced it (`silenced`, until a time, whatever arrives meanwhile);
 * - an operator acknowledged it (`acknowledged`, until a newer occurrence or its `until`).
 * `episode_corrupt` and `clock_skew` carry no condition the dashboard can observe: they stay open
 * until acknowledged or silenced.
 */
import type { AlertGroup } from './api.js';
import { type AlertAction, type HostHealth, type HostIndexed, own } from './index.js';
import { hostKey } from './receivers.js';

export type AlertState = 'open' | 'acknowledged' | 'silenced' | 'resolved';
export const ALERT_STATES: readonly AlertState[] = ['open', 'acknowledged', 'silenced', 'resolved'];

/** Symptoms that are critical (title, favicon, sound); the rest are warnings. */
export const CRITICAL_SYMPTOMS: ReadonlySet<string> = new Set([
  'heartbeat_missed',
  'disk_low',
  'episode_corrupt',
]);

export type AlertSeverity = 'critical' | 'warning';

export function severityOf(symptom: string | null): AlertSeverity {
  return symptom !== null && CRITICAL_SYMPTOMS.has(symptom) ? 'critical' : 'warning';
}

/** Thresholds for "the condition is over". */
export interface ResolveThresholds {
  /** Free share of the disk at or above which `disk_low` is over. @default 0.10 */
  diskFreeOk: number;
  /** Queue depth at or below which `shipper_stuck` is over. @default 5 */
  queueOk: number;
}

export const DEFAULT_RESOLVE_THRESHOLDS: ResolveThresholds = { diskFreeOk: 0.1, queueOk: 5 };

/** A group with where it stands and why. */
export interface AlertGroupState extends AlertGroup {
  state: AlertState;
  severity: AlertSeverity;
  /** One sentence: what resolved it, who acknowledged or silenced it until when. */
  state_reason: string | null;
  action: AlertAction | null;
}

/** What the rule reads from the live state. */
export interface LifecycleInputs {
  health: Readonly<Record<string, HostHealth>>;
  hosts_indexed: Readonly<Record<string, HostIndexed>>;
  alert_actions: Readonly<Record<string, AlertAction>>;
}

function ms(iso: string | null | undefined): number {
  if (typeof iso !== 'string') return Number.NaN;
  return Date.parse(iso);
}

/** The host's latest heartbeat: the file's `last_heartbeat_wall`, else when the file was written. */
export function heartbeatMs(h: HostHealth | undefined): number {
  if (!h) return Number.NaN;
  const stated = h.data.last_heartbeat_wall;
  const t = typeof stated === 'string' ? ms(stated) : typeof stated === 'number' ? stated * 1000 : Number.NaN;
  return Number.isFinite(t) ? t : ms(h.file_mtime);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Free share of the host's disk from its health file, null when it does not say. */
export function diskFreeShare(h: HostHealth | undefined): number | null {
  const free = num(h?.data.disk_free_bytes);
  const total = num(h?.data.disk_total_bytes);
  return free !== null && total !== null && total > 0 ? free / total : null;
}

export function queueDepth(h: HostHealth | undefined): number | null {
  return num(h?.data.queue_depth);
}

/** Why the condition the group reported is over, or null while it is not (or cannot be known). */
export function resolvedBy(
  group: Pick<AlertGroup, 'host_id' | 'receiver' | 'symptom' | 'last_seen' | 'detected_at'>,
  inputs: LifecycleInputs,
  t: ResolveThresholds = DEFAULT_RESOLVE_THRESHOLDS,
): string | null {
  if (group.host_id === null) return null;
  const last = ms(group.last_seen ?? group.detected_at);
  if (!Number.isFinite(last)) return null;
  // The state's host key: two receivers' hosts of one name are two hosts (./receivers.ts).
  const key = hostKey(group.receiver, group.host_id);
  const health = own(inputs.health, key);
  const beat = heartbeatMs(health);
  const fresh = Number.isFinite(beat) && beat > last;
  switch (group.symptom) {
    case 'heartbeat_missed':
      return fresh ? 'a heartbeat arrived after it' : null;
    case 'disk_low': {
      const share = diskFreeShare(health);
      return fresh && share !== null && share >= t.diskFreeOk
        ? `${Math.round(share * 100)}% of the disk is free again`
        : null;
    }
    case 'shipper_stuck': {
      const depth = queueDepth(health);
      if (fresh && depth !== null && depth <= t.queueOk) return `the queue is down to ${depth}`;
      const newest = ms(own(inputs.hosts_indexed, key)?.last_received_at);
      return Number.isFinite(newest) && newest > last ? 'an episode arrived after it' : null;
    }
    default:
      return null;
  }
}

/**
 * The key of a group's operator action in `alert_actions`: its `dedup_key` on a single box;
 * `<receiver>/<dedup_key>` when the group names its receiver (a replica, `serve --redis`), so two
 * receivers' groups with one key are acted on apart.
 */
export function actionKey(group: Pick<AlertGroup, 'receiver' | 'dedup_key'>): string | null {
  return group.dedup_key === null ? null : hostKey(group.receiver, group.dedup_key);
}

/** Where one group stands at `now`. Resolved wins, then an active silence, then an acknowledgement. */
export function alertState(
  group: AlertGroup,
  inputs: LifecycleInputs,
  now: number,
  t: ResolveThresholds = DEFAULT_RESOLVE_THRESHOLDS,
): AlertGroupState {
  const severity = severityOf(group.symptom);
  const key = actionKey(group);
  const action = key === null ? null : (own(inputs.alert_actions, key) ?? null);
  const base = { ...group, severity, action };
  const resolved = resolvedBy(group, inputs, t);
  if (resolved !== null) return { ...base, state: 'resolved', state_reason: resolved };
  if (action !== null) {
    const until = ms(action.until);
    const current = action.until === null || until > now;
    if (action.kind === 'silence' && current) {
      return { ...base, state: 'silenced', state_reason: `silenced by ${action.by} until ${action.until}` };
    }
    const last = ms(group.last_seen ?? group.detected_at);
    const noNewer = !Number.isFinite(last) || last <= ms(action.at);
    if (action.kind === 'acknowledge' && current && noNewer) {
      return { ...base, state: 'acknowledged', state_reason: `acknowledged by ${action.by}` };
    }
  }
  return { ...base, state: 'open', state_reason: null };
}

/** Counts by state, and open critical ones. */
export interface AlertStateCounts {
  open: number;
  open_critical: number;
  acknowledged: number;
  silenced: number;
  resolved: number;
}

export function countStates(groups: readonly AlertGroupState[]): AlertStateCounts {
  const c: AlertStateCounts = { open: 0, open_critical: 0, acknowledged: 0, silenced: 0, resolved: 0 };
  for (const g of groups) {
    c[g.state] += 1;
    if (g.state === 'open' && g.severity === 'critical') c.open_critical += 1;
  }
  return c;
}

/** `GET /api/alerts/lifecycle`: every group (newest first, at most `limit`) with its state. */
export interface AlertLifecycleResponse {
  items: AlertGroupState[];
  /** Over every group matching host/symptom, whatever `state` and `limit` kept. */
  counts: AlertStateCounts;
  /** Groups matching host/symptom/state (before `limit`). */
  total: number;
}

/** Body of `POST /api/alerts/actions` (phase token). */
export interface AlertActionPost {
  dedup_key: string;
  /** On a replica (`serve --redis`): the receiver whose group it is. */
  receiver?: string | null;
  kind: 'acknowledge' | 'silence';
  by: string;
  /** ISO-8601 or epoch seconds; required for a silence. */
  until?: string | number | null;
  note?: string | null;
}
