import type { AlertRecord, DashboardState, HostHealth, PhaseTransition } from '../../../protocol/index.js';

/** A host with no episode for this long stands out as stale. */
export const STALE_AFTER_MS = 60 * 60_000;
/** A health file not rewritten for this long means the heartbeat stopped. */
export const HEARTBEAT_STALE_MS = 5 * 60_000;

export interface HostRow {
  host_id: string;
  episodes: number;
  bytes: number;
  files_on_disk: number;
  bytes_on_disk: number;
  last_received_at: string | null;
  health: HostHealth | null;
  last_alert: AlertRecord | null;
  live_phase: PhaseTransition | null;
  stale: boolean;
}

/**
 * One row per host known from any source (index, disk, health, alerts, live phases), stale ones
 * first, then by name: the hosts that need a look are at the top of the wall.
 */
export function hostRows(state: DashboardState, now: number): HostRow[] {
  const ids = new Set<string>([
    ...Object.keys(state.hosts_indexed),
    ...Object.keys(state.host_counts),
    ...Object.keys(state.health),
    ...Object.keys(state.host_last_alert),
    ...Object.keys(state.live_phases),
  ]);
  const rows = [...ids].map((host_id): HostRow => {
    const indexed = state.hosts_indexed[host_id];
    const last = indexed?.last_received_at ?? null;
    const lastMs = last === null ? Number.NaN : Date.parse(last);
    return {
      host_id,
      episodes: indexed?.episodes ?? 0,
      bytes: indexed?.bytes ?? 0,
      files_on_disk: state.host_counts[host_id] ?? 0,
      bytes_on_disk: state.host_bytes[host_id] ?? 0,
      last_received_at: last,
      health: state.health[host_id] ?? null,
      last_alert: state.host_last_alert[host_id] ?? null,
      live_phase: state.live_phases[host_id] ?? null,
      stale: Number.isNaN(lastMs) || now - lastMs > STALE_AFTER_MS,
    };
  });
  return rows.sort((a, b) => Number(b.stale) - Number(a.stale) || a.host_id.localeCompare(b.host_id));
}

/** The health file's scalar fields, for display (objects and arrays are summarised, not dumped). */
export function healthFields(health: HostHealth): [string, string][] {
  return Object.entries(health.data)
    .slice(0, 8)
    .map(([k, v]): [string, string] => {
      if (v === null) return [k, '—'];
      if (typeof v === 'object') return [k, Array.isArray(v) ? `${v.length} items` : '{…}'];
      return [k, String(v)];
    });
}
