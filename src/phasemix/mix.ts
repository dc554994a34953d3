import type { PhaseMix, PhaseTotals } from '../protocol/index.js';
import type { CachedEpisode } from './cache.js';
import { ExactSum } from './exact-sum.js';

/**
 * Running totals of the dataset mix. Episodes and population files are added and taken away one
 * at a time, so a refresh after a few new episodes costs those episodes, not the whole dataset.
 * The seconds are exact sums (`ExactSum`): whatever the order and history of adds and removals,
 * the mix equals the one a cold computation over the same episodes gives, bit for bit.
 */

type HostTotals = PhaseTotals & { population_episodes: number };

export interface MixResult {
  mix: PhaseMix;
  /** Skip counts per host (the host view of `current(host)`). */
  skippedByHost: Map<string, Record<string, number>>;
}

/** A per-phase sum with how many episodes contribute to it (the key goes when none do). */
interface Slot<T> {
  episodes: number;
  sum: T;
}

/** Counts, seconds, episodes and labels of the episodes added (less those removed). */
class PhaseTotalsAccumulator {
  private readonly counts = new Map<string, Slot<number>>();
  private readonly seconds = new Map<string, Slot<ExactSum>>();
  private episodes = 0;
  private labels = 0;

  /** `sign` 1 adds the episode, −1 takes it away again (it must have been added). */
  apply(e: CachedEpisode, sign: 1 | -1): void {
    this.episodes += sign;
    this.labels += sign * e.labels;
    // for…in over the small per-episode objects: no entry arrays allocated.
    for (const phase in e.counts) {
      let slot = this.counts.get(phase);
      if (!slot) {
        slot = { episodes: 0, sum: 0 };
        this.counts.set(phase, slot);
      }
      slot.episodes += sign;
      slot.sum += sign * (e.counts[phase] ?? 0);
      if (slot.episodes === 0) this.counts.delete(phase);
    }
    for (const phase in e.seconds) {
      let slot = this.seconds.get(phase);
      if (!slot) {
        slot = { episodes: 0, sum: new ExactSum() };
        this.seconds.set(phase, slot);
      }
      slot.episodes += sign;
      slot.sum.add(sign * (e.seconds[phase] ?? 0));
      if (slot.episodes === 0) this.seconds.delete(phase);
    }
  }

  toJSON(): PhaseTotals {
    // Phases in name order: the same totals always serialise the same way, however reached.
    // fromEntries: a phase named "__proto__" stays an ordinary key.
    return {
      counts: Object.fromEntries(sortedKeys(this.counts).map((p) => [p, this.counts.get(p)?.sum ?? 0])),
      weighted_seconds: Object.fromEntries(
        sortedKeys(this.seconds).map((p) => [p, this.seconds.get(p)?.sum.value() ?? 0]),
      ),
      sampled_episodes: this.episodes,
      total_labels: this.labels,
    };
  }
}

/** Counts by key; a key whose count drops to 0 goes. */
class Tally {
  readonly counts = new Map<string, number>();

  apply(key: string, sign: 1 | -1): void {
    const n = (this.counts.get(key) ?? 0) + sign;
    if (n === 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(sortedKeys(this.counts).map((k) => [k, this.counts.get(k) ?? 0]));
  }
}

interface HostAccumulator {
  /** Episode files of the host on disk (readable or not). */
  population: number;
  /** Episodes taken into account that were read (skips are not in here). */
  totals: PhaseTotalsAccumulator;
  skipped: Tally;
  /** Episodes taken into account, read or skipped: the host stays while this or population > 0. */
  considered: number;
  /** The host's part of the last result, kept until the host changes (most hosts do not). */
  output: { totals: HostTotals; skipped: Record<string, number> | null } | null;
}

export class MixTotals {
  private readonly all = new PhaseTotalsAccumulator();
  private readonly skipped = new Tally();
  private readonly hosts = new Map<string, HostAccumulator>();
  private population = 0;

  /** A file of `host` on disk (+1) or gone (−1): the population, whether read or not. */
  applyPopulation(host: string, sign: 1 | -1): void {
    this.population += sign;
    const h = this.host(host);
    h.population += sign;
    h.output = null;
    this.dropIfEmpty(host, h);
  }

  /**
   * An episode taken into account (+1) or no longer (−1): read ones add their labels, skipped ones
   * their reason; an episode without a single counted label adds nothing but the skip, if any.
   */
  applyEpisode(e: CachedEpisode, sign: 1 | -1): void {
    const h = this.host(e.host);
    h.considered += sign;
    h.output = null;
    if (e.status !== 'ok') {
      this.skipped.apply(e.status, sign);
      h.skipped.apply(e.status, sign);
    } else if (e.labels >= 1) {
      this.all.apply(e, sign);
      h.totals.apply(e, sign);
    }
    this.dropIfEmpty(e.host, h);
  }

  /**
   * The mix now: `O(hosts + phases of the hosts changed since the last call)`, independent of how
   * many episodes there are. Unchanged hosts share their objects with the previous result.
   */
  toResult(mode: PhaseMix['mode'], computedAt: string): MixResult {
    const perHost: [string, HostTotals][] = [];
    const skippedByHost = new Map<string, Record<string, number>>();
    for (const host of sortedKeys(this.hosts)) {
      const h = this.hosts.get(host) as HostAccumulator;
      h.output ??= {
        totals: { ...h.totals.toJSON(), population_episodes: h.population },
        skipped: h.skipped.counts.size > 0 ? h.skipped.toJSON() : null,
      };
      if (h.output.skipped) skippedByHost.set(host, h.output.skipped);
      // The population decides which hosts are listed (as the folders on disk).
      if (h.population > 0) perHost.push([host, h.output.totals]);
    }
    return {
      mix: {
        ...this.all.toJSON(),
        population_episodes: this.population,
        // fromEntries: a folder named "__proto__" stays an ordinary key.
        per_host: Object.fromEntries(perHost),
        skipped: this.skipped.toJSON(),
        computed_at: computedAt,
        mode,
      },
      skippedByHost,
    };
  }

  private host(name: string): HostAccumulator {
    let h = this.hosts.get(name);
    if (!h) {
      h = {
        population: 0,
        totals: new PhaseTotalsAccumulator(),
        skipped: new Tally(),
        considered: 0,
        output: null,
      };
      this.hosts.set(name, h);
    }
    return h;
  }

  private dropIfEmpty(name: string, h: HostAccumulator): void {
    if (h.population === 0 && h.considered === 0) this.hosts.delete(name);
  }
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

function sortedKeys(map: ReadonlyMap<string, unknown>): string[] {
  return [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
