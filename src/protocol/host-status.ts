/**
 * Host status, one rule for every scene: ok / warning / critical from the host's last episode,
 * heartbeat age, free disk, queue depth, corrupt episodes and open alerts. The thresholds come from
 * the server (`--host-thresholds`, published in the state as `host_thresholds`).
 */
import { diskFreeShare, heartbeatMs, queueDepth } from './alerts.js';
import { isDatedInFuture } from './future.js';
import { type HostHealth, type HostIndexed, type HostThresholds, own } from './index.js';
import { hostKey } from './receivers.js';

export type HostStatus = 'ok' | 'warning' | 'critical';
const RANK: Record<HostStatus, number> = { ok: 0, warning: 1, critical: 2 };

// Declared with the events that carry it (index.ts), so index.ts imports nothing from here.
export type { HostThresholds } from './index.js';

export const DEFAULT_HOST_THRESHOLDS: HostThresholds = {
  stale_warn_min: 60,
  stale_crit_min: 180,
  heartbeat_warn_min: 5,
  heartbeat_crit_min: 15,
  disk_warn: 0.1,
  disk_crit: 0.05,
  queue_warn: 10,
  queue_crit: 50,
};

const KEYS: Record<string, { key: keyof HostThresholds; unit: 'min' | 'share' | 'count' }> = {
  stale_warn: { key: 'stale_warn_min', unit: 'min' },
  stale_crit: { key: 'stale_crit_min', unit: 'min' },
  heartbeat_warn: { key: 'heartbeat_warn_min', unit: 'min' },
  heartbeat_crit: { key: 'heartbeat_crit_min', unit: 'min' },
  disk_warn: { key: 'disk_warn', unit: 'share' },
  disk_crit: { key: 'disk_crit', unit: 'share' },
  queue_warn: { key: 'queue_warn', unit: 'count' },
  queue_crit: { key: 'queue_crit', unit: 'count' },
};

/**
 * Parses `--host-thresholds`: comma-separated `name=value` over the defaults, e.g.
 * `stale_warn=30m,heartbeat_crit=10m,disk_warn=15%,queue_crit=100`. Minutes take `m` or `h`;
 * disk shares take `%`. Throws an Error naming the bad part.
 */
export function parseHostThresholds(spec: string): HostThresholds {
  const t: HostThresholds = { ...DEFAULT_HOST_THRESHOLDS };
  const given = new Set<string>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const m = /^([a-z_]+)=(\d+(?:\.\d+)?)(m|h|%)?$/.exec(part);
    const def = m?.[1] === undefined ? undefined : Object.hasOwn(KEYS, m[1]) ? KEYS[m[1]] : undefined;
    if (!m || !def) {
      throw new Error(
        `'${part}' is not one of ${Object.keys(KEYS).join(', ')} = a number (m/h for times, % for disk)`,
      );
    }
    const name = m[1] as string;
    // Said twice, the second silently won: a typo of the other key, most likely.
    if (given.has(name)) throw new Error(`'${name}' is given more than once`);
    given.add(name);
    const n = Number(m[2]);
    const suffix = m[3];
    if (def.unit === 'min') {
      if (suffix === '%') throw new Error(`'${part}': a time takes m or h`);
      if (n <= 0) throw new Error(`'${part}': a time must be longer than 0`);
      t[def.key] = suffix === 'h' ? n * 60 : n;
    } else if (def.unit === 'share') {
      if (suffix !== '%') throw new Error(`'${part}': a disk share takes %, e.g. 10%`);
      if (n > 100) throw new Error(`'${part}': a disk share is at most 100%`);
      t[def.key] = n / 100;
    } else {
      if (suffix !== undefined) throw new Error(`'${part}': a queue depth is a plain number`);
      t[def.key] = n;
    }
  }
  if (t.stale_crit_min < t.stale_warn_min || t.heartbeat_crit_min < t.heartbeat_warn_min) {
    throw new Error('a critical time must not be shorter than its warning time');
  }
  if (t.disk_crit > t.disk_warn || t.queue_crit < t.queue_warn) {
    throw new Error('a critical threshold must be past its warning threshold');
  }
  return t;
}

export interface HostStatusInputs {
  indexed: HostIndexed | undefined;
  health: HostHealth | undefined;
  /** Open alert groups of the host by severity. */
  openCritical: number;
  openWarning: number;
  corrupt: number;
}

export interface HostStatusResult {
  status: HostStatus;
  /** Why, worst first, one short phrase each ("heartbeat 12 min ago"). */
  reasons: Array<{ level: Exclude<HostStatus, 'ok'>; text: string }>;
  /** Minutes since the last episode, clamped at 0 for one dated in the future; null when none. */
  last_episode_min: number | null;
  heartbeat_min: number | null;
  /** True when the newest episode is dated in the future (`protocol/future.ts`; clamped at now). */
  future_dated: boolean;
}

function mins(n: number): string {
  if (n < 120) return `${Math.round(n)} min`;
  if (n < 48 * 60) return `${Math.round(n / 60)} h`;
  return `${Math.round(n / 1440)} d`;
}

export function hostStatus(
  i: HostStatusInputs,
  now: number,
  t: HostThresholds = DEFAULT_HOST_THRESHOLDS,
): HostStatusResult {
  const reasons: HostStatusResult['reasons'] = [];
  const add = (level: 'warning' | 'critical', text: string) => reasons.push({ level, text });
  const lastMs = i.indexed?.last_received_at ? Date.parse(i.indexed.last_received_at) : Number.NaN;
  const future = Number.isFinite(lastMs) && isDatedInFuture(lastMs, now);
  const lastMin = Number.isFinite(lastMs) ? Math.max(0, now - lastMs) / 60_000 : null;
  if (lastMin === null) add('warning', 'no episode yet');
  else if (lastMin > t.stale_crit_min) add('critical', `no episode for ${mins(lastMin)}`);
  else if (lastMin > t.stale_warn_min) add('warning', `no episode for ${mins(lastMin)}`);
  const beat = heartbeatMs(i.health);
  const beatMin = Number.isFinite(beat) ? Math.max(0, now - beat) / 60_000 : null;
  if (beatMin !== null && beatMin > t.heartbeat_crit_min) add('critical', `heartbeat ${mins(beatMin)} ago`);
  else if (beatMin !== null && beatMin > t.heartbeat_warn_min)
    add('warning', `heartbeat ${mins(beatMin)} ago`);
  const disk = diskFreeShare(i.health);
  if (disk !== null && disk < t.disk_crit) add('critical', `disk ${Math.round(disk * 100)}% free`);
  else if (disk !== null && disk < t.disk_warn) add('warning', `disk ${Math.round(disk * 100)}% free`);
  const queue = queueDepth(i.health);
  if (queue !== null && queue > t.queue_crit) add('critical', `queue ${queue}`);
  else if (queue !== null && queue > t.queue_warn) add('warning', `queue ${queue}`);
  if (i.openCritical > 0)
    add('critical', `${i.openCritical} critical alert${i.openCritical === 1 ? '' : 's'} open`);
  if (i.openWarning > 0) add('warning', `${i.openWarning} alert${i.openWarning === 1 ? '' : 's'} open`);
  if (i.corrupt > 0) add('warning', `${i.corrupt} corrupt episode${i.corrupt === 1 ? '' : 's'}`);
  if (future) add('warning', 'newest episode dated in the future');
  reasons.sort((a, b) => RANK[b.level] - RANK[a.level]);
  const status: HostStatus = reasons[0]?.level ?? 'ok';
  return { status, reasons, last_episode_min: lastMin, heartbeat_min: beatMin, future_dated: future };
}

/** Worst first, then by host id. */
export function compareStatus(
  a: { status: HostStatus; host_id: string },
  b: { status: HostStatus; host_id: string },
): number {
  return RANK[b.status] - RANK[a.status] || a.host_id.localeCompare(b.host_id);
}

/** Open alert groups per host by severity (the `open` state only), for `hostStatus`. */
export function openAlertsByHost(
  groups: readonly {
    state: string;
    host_id: string | null;
    receiver?: string;
    severity: 'critical' | 'warning';
  }[],
): Map<string, { critical: number; warning: number }> {
  const open = new Map<string, { critical: number; warning: number }>();
  for (const g of groups) {
    if (g.state !== 'open' || g.host_id === null) continue;
    // Keyed as the state keys hosts: `<receiver>/<host>` for a receiver's alert (./receivers.ts).
    const key = hostKey(g.receiver, g.host_id);
    const c = open.get(key) ?? { critical: 0, warning: 0 };
    c[g.severity] += 1;
    open.set(key, c);
  }
  return open;
}

/** One host's status from the live state and the open alerts (the server's /api/hosts, the web app). */
export function hostStatusIn(
  state: {
    hosts_indexed: Readonly<Record<string, HostIndexed>>;
    health: Readonly<Record<string, HostHealth>>;
    integrity?: { hosts: Readonly<Record<string, { corrupt?: number }>> } | null;
    host_thresholds?: HostThresholds | null;
  },
  hostId: string,
  open: ReadonlyMap<string, { critical: number; warning: number }>,
  now: number,
): HostStatusResult {
  const alerts = open.get(hostId);
  return hostStatus(
    {
      indexed: own(state.hosts_indexed, hostId),
      health: own(state.health, hostId),
      openCritical: alerts?.critical ?? 0,
      openWarning: alerts?.warning ?? 0,
      corrupt: own(state.integrity?.hosts, hostId)?.corrupt ?? 0,
    },
    now,
    state.host_thresholds ?? DEFAULT_HOST_THRESHOLDS,
  );
}
