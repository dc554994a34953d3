import type { HostSummary } from '../../../protocol/api.js';
import { type DashboardState, type HostHealth, own } from '../../../protocol/index.js';
import { hostRef } from '../../../protocol/receiver-view.js';
import { formatAgo, formatBytes, formatCount } from '../../data/format.js';

/** A host with no episode for this long stands out as stale. */
export const STALE_AFTER_MS = 60 * 60_000;
/** A health file not rewritten for this long means the heartbeat stopped. */
export const HEARTBEAT_STALE_MS = 5 * 60_000;

/** A host as `/api/hosts` describes it, plus whether it is stale. */
/** The status fields come from the rule in status.ts, applied live (not from /api/hosts). */
export interface HostRow extends Omit<HostSummary, 'status' | 'status_reasons'> {
  /** The state's key for it (`protocol/receivers.ts`): the host id, or `<receiver>/<host_id>`. */
  key: string;
  stale: boolean;
}

/**
 * One row per host known from any source (index, disk, health, alerts, live phases), stale ones
 * first, then by name: the hosts that need a look are at the top of the wall.
 */
export type HostSources = Pick<
  DashboardState,
  'hosts_indexed' | 'host_counts' | 'host_bytes' | 'health' | 'host_last_alert' | 'live_phases'
>;

export function hostRows(state: HostSources, now: number): HostRow[] {
  const ids = new Set<string>([
    ...Object.keys(state.hosts_indexed),
    ...Object.keys(state.host_counts),
    ...Object.keys(state.health),
    ...Object.keys(state.host_last_alert),
  ]);
  // A phase names no receiver: it adds a host only when no receiver has one of that name.
  const names = new Set([...ids].map((k) => hostRef(k).host_id));
  for (const k of Object.keys(state.live_phases)) if (!names.has(k)) ids.add(k);
  const rows = [...ids].map((key): HostRow => {
    const { host_id, receiver } = hostRef(key);
    const indexed = own(state.hosts_indexed, key);
    const last = indexed?.last_received_at ?? null;
    const lastMs = last === null ? Number.NaN : Date.parse(last);
    return {
      key,
      host_id,
      ...(receiver === null ? {} : { receiver }),
      episodes: indexed?.episodes ?? 0,
      bytes: indexed?.bytes ?? 0,
      files_on_disk: own(state.host_counts, key) ?? 0,
      bytes_on_disk: own(state.host_bytes, key) ?? 0,
      last_received_at: last,
      health: own(state.health, key) ?? null,
      last_alert: own(state.host_last_alert, key) ?? null,
      // Orchestrator phases name no receiver: a phase for `host-a` shows on every receiver's host-a.
      live_phase: own(state.live_phases, key) ?? own(state.live_phases, host_id) ?? null,
      stale: Number.isNaN(lastMs) || now - lastMs > STALE_AFTER_MS,
    };
  });
  return rows.sort(
    (a, b) =>
      Number(b.stale) - Number(a.stale) ||
      a.host_id.localeCompare(b.host_id) ||
      (a.receiver ?? '').localeCompare(b.receiver ?? ''),
  );
}

/**
 * When the host last checked in: a heartbeat field of the health file when it has one (the file's
 * mtime only says when the receiver rewrote it), else the file's mtime.
 */
export function heartbeatAt(health: HostHealth): string {
  for (const [k, v] of Object.entries(health.data)) {
    if (/heartbeat/i.test(k) && typeof v === 'string' && !Number.isNaN(Date.parse(v))) return v;
    if (/heartbeat/i.test(k) && typeof v === 'number' && Number.isFinite(v))
      return new Date(v * 1000).toISOString();
  }
  return health.file_mtime;
}

/**
 * The health file's scalar fields, formatted by their name's unit suffix (`_bytes`, `_wall`/`_at`);
 * objects and arrays are summarised, not dumped; the host id and heartbeat are shown elsewhere.
 */
export function healthFields(health: HostHealth, now: number): [string, string][] {
  return Object.entries(health.data)
    .filter(([k]) => k !== 'host_id' && !/heartbeat/i.test(k))
    .slice(0, 8)
    .map(([k, v]): [string, string] => {
      const name = k.replace(/_(bytes|wall|at)$/, '').replaceAll('_', ' ');
      if (v === null) return [name, '—'];
      if (typeof v === 'object') return [name, Array.isArray(v) ? `${v.length} items` : '{…}'];
      if (typeof v === 'number' && k.endsWith('_bytes')) return [name, formatBytes(v)];
      if (typeof v === 'number') return [name, formatCount(v)];
      if (typeof v === 'string' && /_(wall|at)$/.test(k)) return [name, formatAgo(v, now)];
      return [name, String(v)];
    });
}
