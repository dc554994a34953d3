import { dict, type EpisodeRecord, type HostIndexed, RECENT_LIMIT } from '../protocol/index.js';
import { prependNewest } from './recent.js';

/** The newer of two epoch-ms times, NaN standing for none: a known time beats none. */
export function newerMs(a: number, b: number): number {
  return b > a || (Number.isNaN(a) && !Number.isNaN(b)) ? b : a;
}

export interface HostTotals {
  episodes: number;
  bytes: number;
  /** Newest received time in epoch ms (NaN when none is known); rendered to ISO on demand. */
  lastMs: number;
  /**
   * These totals as a snapshot shows them, made when first asked for after a change (`addSums`
   * drops it): a snapshot every 0.1 s otherwise formatted every host's time again, though a cycle
   * of ten lines changes a few hosts. Never changed once made (snapshots share it).
   */
  view?: HostIndexed | undefined;
}

/**
 * Running totals of the index: what the snapshot says about episodes. Updated per accepted record
 * (never by re-reading the index), seeded from the catalog at start-up.
 */
export class IndexAggregates {
  total_episodes = 0;
  total_bytes = 0;
  private readonly hosts = new Map<string, HostTotals>();
  /** Newest first, less the batches in `later`. */
  #recent: EpisodeRecord[] = [];
  /**
   * Batches pushed (`pushRecentLater`) and not parsed yet, oldest first: a first pass's batch of a million-line index fills the whole window, so each drops those
   * before it, and only the batches still in the window when someone reads it are ever parsed.
   */
  private later: Array<() => readonly EpisodeRecord[]> = [];

  constructor(seed?: {
    total_episodes: number;
    total_bytes: number;
    hosts_indexed: Record<string, HostIndexed>;
    recent_episodes: EpisodeRecord[];
  }) {
    if (seed) {
      this.total_episodes = seed.total_episodes;
      this.total_bytes = seed.total_bytes;
      for (const [host, h] of Object.entries(seed.hosts_indexed)) {
        const lastMs = h.last_received_at === null ? Number.NaN : Date.parse(h.last_received_at);
        this.hosts.set(host, { episodes: h.episodes, bytes: h.bytes, lastMs });
      }
      this.#recent = seed.recent_episodes.slice(0, RECENT_LIMIT);
    }
  }

  /** The running totals of one host (created empty). */
  host(host: string): HostTotals {
    let h = this.hosts.get(host);
    if (!h) {
      h = { episodes: 0, bytes: 0, lastMs: Number.NaN };
      this.hosts.set(host, h);
    }
    return h;
  }

  /** One accepted episode: host, size (null for none) and received time in ms (NaN for none). */
  count(host: string, size: number | null, receivedMs: number): void {
    this.addSums(this.host(host), 1, size === null || Number.isNaN(size) ? 0 : size, receivedMs);
  }

  /** Several accepted episodes of one host at once: their count, bytes and newest time (NaN: none). */
  addSums(h: HostTotals, episodes: number, bytes: number, lastMs: number): void {
    this.total_episodes += episodes;
    this.total_bytes += bytes;
    h.episodes += episodes;
    h.bytes += bytes;
    h.lastMs = newerMs(h.lastMs, lastMs);
    h.view = undefined;
  }

  /** Newest first: at most RECENT_LIMIT. */
  get recent(): EpisodeRecord[] {
    const later = this.later;
    if (later.length > 0) {
      this.later = [];
      for (const load of later) this.#recent = prependNewest(this.#recent, load(), RECENT_LIMIT);
    }
    return this.#recent;
  }

  /** Puts accepted records at the front of the recent list (the batch's last record first). */
  pushRecent(records: readonly EpisodeRecord[]): void {
    if (records.length === 0) return;
    if (this.later.length > 0) this.later.push(() => records);
    else this.#recent = prependNewest(this.#recent, records, RECENT_LIMIT);
  }

  /**
   * `pushRecent` of the `count` records `load` gives (oldest first, at most RECENT_LIMIT), called
   * only if they are still in the window when it is read.
   */
  pushRecentLater(count: number, load: () => readonly EpisodeRecord[]): void {
    if (count === 0) return;
    if (count >= RECENT_LIMIT) {
      this.later = [load];
      this.#recent = [];
    } else this.later.push(load);
  }

  add(records: readonly EpisodeRecord[]): void {
    for (const r of records) {
      this.count(r.host_id, r.size_bytes, r.received_at === null ? Number.NaN : Date.parse(r.received_at));
    }
    this.pushRecent(records);
  }

  hostsIndexed(): Record<string, HostIndexed> {
    const out = dict<HostIndexed>();
    for (const [host, h] of this.hosts) {
      h.view ??= {
        episodes: h.episodes,
        bytes: h.bytes,
        last_received_at: Number.isNaN(h.lastMs) ? null : new Date(h.lastMs).toISOString(),
      };
      out[host] = h.view;
    }
    return out;
  }

  /** Copies safe to hand to the bus (the snapshot must not alias mutable state). */
  snapshotFields(): {
    total_episodes: number;
    total_bytes: number;
    hosts_indexed: Record<string, HostIndexed>;
    recent_episodes: EpisodeRecord[];
  } {
    return {
      total_episodes: this.total_episodes,
      total_bytes: this.total_bytes,
      hosts_indexed: this.hostsIndexed(),
      recent_episodes: this.recent.slice(),
    };
  }
}
