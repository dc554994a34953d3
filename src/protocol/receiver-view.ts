/**
 * Many receivers in one view, as the web app shows them (scale-out, `serve --redis`). The state's
 * per-host maps are keyed by `hostKey` (./receivers.ts): the plain host id on a single box,
 * `<receiver>/<host_id>` for a record that names its receiver. A receiver name cannot hold `/`
 * (see `scaleout/keys.ts`), so a key splits back at its first `/`.
 */
import type { DashboardState, HostIndexed, PhaseMix, PhaseTotals } from './index.js';
import { own } from './index.js';

/** A receiver name, as `scaleout/keys.ts` accepts it. */
const RECEIVER = /^[A-Za-z0-9._-]{1,64}$/;

export interface HostRef {
  host_id: string;
  /** Null on a single box (and for a record that named no receiver, e.g. an orchestrator's phase). */
  receiver: string | null;
}

/** The host id and receiver a state key was made from (a prefix that is no receiver name is host id). */
export function hostRef(key: string): HostRef {
  const slash = key.indexOf('/');
  if (slash > 0) {
    const receiver = key.slice(0, slash);
    if (RECEIVER.test(receiver)) return { host_id: key.slice(slash + 1), receiver };
  }
  return { host_id: key, receiver: null };
}

/** Whether a state key belongs to `receiver` (null: every key does). */
export function keyOfReceiver(key: string, receiver: string | null): boolean {
  return receiver === null || hostRef(key).receiver === receiver;
}

/** The state's per-host maps that {@link hostKey} keys. */
type HostMaps = Pick<DashboardState, 'hosts_indexed' | 'host_counts' | 'health' | 'host_last_alert'>;

/**
 * Every receiver the state knows of, sorted: from its recent records and its host keys. Empty on
 * a single box, where the web app hides its receiver picker.
 */
export function receiversOf(
  state: HostMaps & Pick<DashboardState, 'recent_episodes' | 'recent_alerts' | 'receivers'>,
): string[] {
  const found = new Set<string>(Object.keys(state.receivers ?? {}));
  for (const r of state.recent_episodes) if (r.receiver) found.add(r.receiver);
  for (const r of state.recent_alerts) if (r.receiver) found.add(r.receiver);
  for (const map of [state.hosts_indexed, state.host_counts, state.health, state.host_last_alert]) {
    for (const key of Object.keys(map)) {
      const { receiver } = hostRef(key);
      if (receiver !== null) found.add(receiver);
    }
  }
  return [...found].sort();
}

/**
 * How a host is shown: its id alone, or `host-a · rack-2` when another receiver has a host of the
 * same name (`sameName` counts the receivers per host id, from {@link hostNameCounts}).
 */
export function hostLabel(key: string, sameName: ReadonlyMap<string, number>): string {
  const { host_id, receiver } = hostRef(key);
  return receiver !== null && (sameName.get(host_id) ?? 0) > 1 ? `${host_id} · ${receiver}` : host_id;
}

/** Per host id, how many distinct keys (receivers) carry it. */
export function hostNameCounts(keys: Iterable<string>): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const key of keys) {
    if (seen.has(key)) continue;
    seen.add(key);
    const { host_id } = hostRef(key);
    counts.set(host_id, (counts.get(host_id) ?? 0) + 1);
  }
  return counts;
}

function pickKeys<T>(map: Readonly<Record<string, T>>, receiver: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(map)) {
    const v = own(map, key);
    if (v !== undefined && keyOfReceiver(key, receiver)) {
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

function sumTotals(parts: (PhaseTotals & { population_episodes: number })[]): PhaseTotals & {
  population_episodes: number;
} {
  const total = {
    counts: {} as Record<string, number>,
    weighted_seconds: {} as Record<string, number>,
    sampled_episodes: 0,
    total_labels: 0,
    population_episodes: 0,
  };
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.counts)) total.counts[k] = (own(total.counts, k) ?? 0) + v;
    for (const [k, v] of Object.entries(p.weighted_seconds))
      total.weighted_seconds[k] = (own(total.weighted_seconds, k) ?? 0) + v;
    total.sampled_episodes += p.sampled_episodes;
    total.total_labels += p.total_labels;
    total.population_episodes += p.population_episodes;
  }
  return total;
}

/** The phase mix of one receiver: its hosts' exact per-host sums, added up. */
function mixOf(mix: PhaseMix, receiver: string): PhaseMix {
  const per_host = pickKeys(mix.per_host, receiver);
  return { ...mix, ...sumTotals(Object.values(per_host)), per_host };
}

/**
 * The state as one receiver sees it: its hosts, records and totals only. Totals come from the
 * receiver's part a replica keeps (`state.receivers`); without one, the sums over its hosts (exact:
 * every episode has one host) and, for alerts, the count of its alerts among the state's recent
 * ones (the newest RECENT_LIMIT over all receivers, exact while fewer alerts than that exist).
 * A null receiver returns the state itself.
 */
export function stateOfReceiver(state: DashboardState, receiver: string | null): DashboardState {
  if (receiver === null) return state;
  const hosts_indexed = pickKeys(state.hosts_indexed, receiver);
  let episodes = 0;
  let bytes = 0;
  for (const h of Object.values(hosts_indexed) as HostIndexed[]) {
    episodes += h.episodes;
    bytes += h.bytes;
  }
  const recent_alerts = state.recent_alerts.filter((a) => a.receiver === receiver);
  // A replica's state keeps each receiver's exact share of the totals and its own phase mix.
  const part = own(state.receivers ?? {}, receiver);
  return {
    ...state,
    total_episodes: part?.total_episodes ?? episodes,
    total_bytes: part?.total_bytes ?? bytes,
    total_alerts: part?.total_alerts ?? recent_alerts.length,
    ready: part?.ready ?? state.ready,
    hosts_indexed,
    host_counts: pickKeys(state.host_counts, receiver),
    host_bytes: pickKeys(state.host_bytes, receiver),
    health: pickKeys(state.health, receiver),
    host_last_alert: pickKeys(state.host_last_alert, receiver),
    recent_episodes: state.recent_episodes.filter((e) => e.receiver === receiver),
    recent_alerts,
    // Orchestrator phases name no receiver: kept when their host id is one of this receiver's.
    live_phases: pickLivePhases(state, hosts_indexed, receiver),
    integrity:
      state.integrity === null
        ? null
        : { ...state.integrity, hosts: pickKeys(state.integrity.hosts, receiver) },
    phase_mix: part ? part.phase_mix : state.phase_mix === null ? null : mixOf(state.phase_mix, receiver),
  };
}

function pickLivePhases(
  state: DashboardState,
  hosts: Record<string, HostIndexed>,
  receiver: string,
): DashboardState['live_phases'] {
  const names = new Set(Object.keys(hosts).map((k) => hostRef(k).host_id));
  for (const k of Object.keys(state.health)) if (keyOfReceiver(k, receiver)) names.add(hostRef(k).host_id);
  const out: DashboardState['live_phases'] = {};
  for (const key of Object.keys(state.live_phases)) {
    const ref = hostRef(key);
    const v = own(state.live_phases, key);
    if (v === undefined) continue;
    if (ref.receiver === receiver || (ref.receiver === null && names.has(ref.host_id))) {
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}
