import type {
  AlertRecord,
  DashboardState,
  EpisodeRecord,
  IntegrityCounts,
  PhaseMix,
  PhaseTotals,
  ReceiverPart,
  Snapshot,
} from './index.js';
import { own, RECENT_LIMIT, withKey } from './index.js';

/**
 * A receiver name: 1–64 of `A-Z a-z 0-9 . _ -` (it appears in Redis keys, logs, metric labels and
 * the `<receiver>/<host>` keys below, so never a `/`). Agents are refused any other; so is a query
 * or body naming one.
 */
export const RECEIVER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Scale-out (several receivers in one view, `serve --redis`): the state is the sum over receivers.
 * Every host-keyed map uses `<receiver>/<host_id>` as the key when the event names its receiver, so
 * two receivers with a host of the same name are two hosts; a single box (no receiver) keys by the
 * host id as before. Pure, shared by the replica and the web app through the reducer.
 */
export function hostKey(receiver: string | undefined, hostId: string): string {
  return receiver === undefined ? hostId : `${receiver}/${hostId}`;
}

/** The receiver and host of a state key (`<receiver>/<host>`); a single box's key is all host. */
export function splitHostKey(key: string, scaleOut: boolean): { receiver?: string; host_id: string } {
  const slash = scaleOut ? key.indexOf('/') : -1;
  return slash <= 0 ? { host_id: key } : { receiver: key.slice(0, slash), host_id: key.slice(slash + 1) };
}

export function emptyPart(): ReceiverPart {
  return {
    total_episodes: 0,
    total_alerts: 0,
    total_bytes: 0,
    ready: false,
    integrity: null,
    phase_mix: null,
  };
}

/** The state with `receiver`'s part changed by `change` (created empty first). */
export function withPart(
  state: DashboardState,
  receiver: string,
  change: (part: ReceiverPart) => ReceiverPart,
): DashboardState {
  const parts = state.receivers ?? {};
  return { ...state, receivers: withKey(parts, receiver, change(own(parts, receiver) ?? emptyPart())) };
}

/** Sets an own data property in place (even `__proto__`), on an object this module just made. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `top` without `receiver`'s keys, plus `theirs` under `<receiver>/` keys. */
function replaceKeys<T>(
  top: Readonly<Record<string, T>>,
  receiver: string,
  theirs: Readonly<Record<string, T>>,
  map: (value: T) => T = (v) => v,
): Record<string, T> {
  const prefix = `${receiver}/`;
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(top)) if (!k.startsWith(prefix)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(theirs)) setOwn(out, prefix + k, map(v));
  return out;
}

function newestFirst<T>(items: T[], at: (item: T) => string | null): T[] {
  // Stable: equal times keep their order (a receiver's own list is already newest first).
  return items
    .map((item, i) => ({ item, i, t: at(item) }))
    .sort((a, b) => {
      if (a.t === b.t) return a.i - b.i;
      if (a.t === null) return 1;
      if (b.t === null) return -1;
      return a.t > b.t ? -1 : 1;
    })
    .map((x) => x.item)
    .slice(0, RECENT_LIMIT);
}

function sumCounts(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(b)) setOwn(out, k, (own(out, k) ?? 0) + v);
  return out;
}

function addTotals<T extends PhaseTotals>(a: T, b: PhaseTotals): T {
  return {
    ...a,
    counts: sumCounts(a.counts, b.counts),
    weighted_seconds: sumCounts(a.weighted_seconds, b.weighted_seconds),
    sampled_episodes: a.sampled_episodes + b.sampled_episodes,
    total_labels: a.total_labels + b.total_labels,
  };
}

/** The later of two ISO-8601 times. */
function later(a: string, b: string): string {
  return a.localeCompare(b) > 0 ? a : b;
}

/** The phase mix over every receiver's: counts, seconds and episodes summed, hosts side by side. */
export function mergePhaseMixes(parts: Readonly<Record<string, ReceiverPart>>): PhaseMix | null {
  let merged: PhaseMix | null = null;
  for (const part of Object.values(parts)) {
    const mix = part.phase_mix;
    if (mix === null) continue;
    if (merged === null) {
      merged = { ...mix };
      continue;
    }
    merged = {
      ...addTotals(merged, mix),
      population_episodes: merged.population_episodes + mix.population_episodes,
      per_host: { ...merged.per_host, ...mix.per_host },
      skipped: sumCounts(merged.skipped, mix.skipped),
      computed_at: later(mix.computed_at, merged.computed_at),
      mode:
        merged.mode === 'all' && mix.mode === 'all'
          ? 'all'
          : (merged.mode === 'all' ? 0 : merged.mode) + (mix.mode === 'all' ? 0 : mix.mode),
    };
  }
  return merged;
}

function integritySum(
  parts: Readonly<Record<string, ReceiverPart>>,
  hosts: IntegrityCounts['hosts'],
): IntegrityCounts | null {
  let total: IntegrityCounts['total'] | null = null;
  for (const part of Object.values(parts)) {
    if (part.integrity === null) continue;
    total = sumCounts(total ?? {}, part.integrity as Record<string, number>);
  }
  return total === null ? null : { total, hosts };
}

const allReady = (parts: Readonly<Record<string, ReceiverPart>>) =>
  Object.values(parts).every((p) => p.ready);

/**
 * A receiver's snapshot applied to the merged state: its part of the totals and its keys are
 * replaced, every other receiver's stay. Records get their receiver stamped.
 */
export function applyReceiverSnapshot(
  state: DashboardState,
  receiver: string,
  snap: Snapshot,
): DashboardState {
  const old = own(state.receivers ?? {}, receiver) ?? emptyPart();
  const next = withPart(state, receiver, (p) => ({
    ...p,
    total_episodes: snap.total_episodes,
    total_alerts: snap.total_alerts,
    total_bytes: snap.total_bytes,
    ready: snap.ready,
    integrity: snap.integrity?.total ?? null,
  }));
  const parts = next.receivers ?? {};
  const stampEpisode = (e: EpisodeRecord): EpisodeRecord => ({ ...e, receiver });
  const stampAlert = (a: AlertRecord): AlertRecord => ({ ...a, receiver });
  const integrityHosts = replaceKeys(state.integrity?.hosts ?? {}, receiver, snap.integrity?.hosts ?? {});
  return {
    ...next,
    total_episodes: state.total_episodes - old.total_episodes + snap.total_episodes,
    total_alerts: state.total_alerts - old.total_alerts + snap.total_alerts,
    total_bytes: state.total_bytes - old.total_bytes + snap.total_bytes,
    host_counts: replaceKeys(state.host_counts, receiver, snap.host_counts),
    host_bytes: replaceKeys(state.host_bytes, receiver, snap.host_bytes),
    hosts_indexed: replaceKeys(state.hosts_indexed, receiver, snap.hosts_indexed),
    host_last_alert: replaceKeys(state.host_last_alert, receiver, snap.host_last_alert, stampAlert),
    health: replaceKeys(state.health, receiver, snap.health),
    recent_episodes: newestFirst(
      [
        ...snap.recent_episodes.map(stampEpisode),
        ...state.recent_episodes.filter((e) => e.receiver !== receiver),
      ],
      (e) => e.received_at,
    ),
    recent_alerts: newestFirst(
      [...snap.recent_alerts.map(stampAlert), ...state.recent_alerts.filter((a) => a.receiver !== receiver)],
      (a) => a.detected_at,
    ),
    ready: allReady(parts),
    integrity: integritySum(parts, integrityHosts),
  };
}

/** A receiver's phase mix: its part replaced (hosts under `<receiver>/`), the merged mix recomputed. */
export function applyReceiverPhaseMix(
  state: DashboardState,
  receiver: string,
  mix: PhaseMix,
): DashboardState {
  const qualified: PhaseMix = { ...mix, per_host: replaceKeys({}, receiver, mix.per_host) };
  const next = withPart(state, receiver, (p) => ({ ...p, phase_mix: qualified }));
  return { ...next, phase_mix: mergePhaseMixes(next.receivers ?? {}) };
}

export function applyReceiverReady(state: DashboardState, receiver: string, ready: boolean): DashboardState {
  const next = withPart(state, receiver, (p) => ({ ...p, ready }));
  return { ...next, ready: allReady(next.receivers ?? {}) };
}
