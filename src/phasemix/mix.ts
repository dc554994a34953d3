import type { PhaseMix, PhaseTotals } from '../protocol/index.js';
import type { CachedEpisode } from './cache.js';

/** Sums per-episode results into the dataset mix (pure; the service feeds it). */

type HostTotals = PhaseTotals & { population_episodes: number };

export interface MixInput {
  /** Host of every episode file on disk (readable or not): the population. */
  populationHosts: readonly string[];
  /** The episodes taken into account (all of them, or the random sample). */
  episodes: readonly CachedEpisode[];
  mode: 'all' | number;
  computedAt: string;
}

export interface MixResult {
  mix: PhaseMix;
  /** Skip counts per host (the host view of `current(host)`). */
  skippedByHost: Map<string, Record<string, number>>;
}

class Totals {
  readonly counts = new Map<string, number>();
  readonly seconds = new Map<string, number>();
  episodes = 0;
  labels = 0;

  add(e: CachedEpisode): void {
    if (e.status !== 'ok' || e.labels < 1) return;
    this.episodes++;
    this.labels += e.labels;
    // for…in over the small per-episode objects: no entry arrays allocated (hot on every refresh).
    for (const phase in e.counts)
      this.counts.set(phase, (this.counts.get(phase) ?? 0) + (e.counts[phase] ?? 0));
    for (const phase in e.seconds) {
      this.seconds.set(phase, (this.seconds.get(phase) ?? 0) + (e.seconds[phase] ?? 0));
    }
  }

  toJSON(): PhaseTotals {
    return {
      counts: Object.fromEntries(this.counts),
      weighted_seconds: Object.fromEntries(this.seconds),
      sampled_episodes: this.episodes,
      total_labels: this.labels,
    };
  }
}

export function buildMix(input: MixInput): MixResult {
  const all = new Totals();
  const hosts = new Map<string, Totals>();
  const population = new Map<string, number>();
  const skipped: Record<string, number> = {};
  const skippedByHost = new Map<string, Record<string, number>>();

  for (const host of input.populationHosts) population.set(host, (population.get(host) ?? 0) + 1);
  for (const e of input.episodes) {
    all.add(e);
    let host = hosts.get(e.host);
    if (!host) {
      host = new Totals();
      hosts.set(e.host, host);
    }
    host.add(e);
    if (e.status !== 'ok') {
      skipped[e.status] = (skipped[e.status] ?? 0) + 1;
      const hostSkipped = skippedByHost.get(e.host) ?? {};
      hostSkipped[e.status] = (hostSkipped[e.status] ?? 0) + 1;
      skippedByHost.set(e.host, hostSkipped);
    }
  }

  const sortedHosts = [...population].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // fromEntries: a folder named "__proto__" stays an ordinary key.
  const perHost: Record<string, HostTotals> = Object.fromEntries(
    sortedHosts.map(([host, count]) => [
      host,
      { ...(hosts.get(host) ?? new Totals()).toJSON(), population_episodes: count },
    ]),
  );
  return {
    mix: {
      ...all.toJSON(),
      population_episodes: input.populationHosts.length,
      per_host: perHost,
      skipped,
      computed_at: input.computedAt,
      mode: input.mode,
    },
    skippedByHost,
  };
}

/** The per-host breakdown shaped as a whole mix (for `GET /api/phase-mix?host=`). */
export function hostMix(result: MixResult, host: string): PhaseMix | null {
  if (!Object.hasOwn(result.mix.per_host, host)) return null;
  const totals = result.mix.per_host[host] as HostTotals;
  return {
    ...totals,
    per_host: Object.fromEntries([[host, totals]]),
    skipped: result.skippedByHost.get(host) ?? {},
    computed_at: result.mix.computed_at,
    mode: result.mix.mode,
  };
}
