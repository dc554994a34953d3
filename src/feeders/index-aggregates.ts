import { type EpisodeRecord, type HostIndexed, RECENT_LIMIT } from '../protocol/index.js';

/**
 * Running totals of the index: what the snapshot says about episodes. Updated per accepted record
 * (never by re-reading the index), seeded from the catalog at start-up.
 */
export class IndexAggregates {
  total_episodes = 0;
  total_bytes = 0;
  hosts_indexed: Record<string, HostIndexed> = {};
  /** Newest first. */
  recent: EpisodeRecord[] = [];

  constructor(seed?: {
    total_episodes: number;
    total_bytes: number;
    hosts_indexed: Record<string, HostIndexed>;
    recent_episodes: EpisodeRecord[];
  }) {
    if (seed) {
      this.total_episodes = seed.total_episodes;
      this.total_bytes = seed.total_bytes;
      this.hosts_indexed = structuredClone(seed.hosts_indexed);
      this.recent = seed.recent_episodes.slice(0, RECENT_LIMIT);
    }
  }

  add(records: readonly EpisodeRecord[]): void {
    for (const r of records) {
      const size = r.size_bytes ?? 0;
      this.total_episodes++;
      this.total_bytes += size;
      let h = this.hosts_indexed[r.host_id];
      if (!h) {
        h = { episodes: 0, bytes: 0, last_received_at: null };
        this.hosts_indexed[r.host_id] = h;
      }
      h.episodes++;
      h.bytes += size;
      if (r.received_at !== null && (h.last_received_at === null || r.received_at > h.last_received_at)) {
        h.last_received_at = r.received_at;
      }
    }
    // Newest first: the last records of the batch go to the front.
    const n = records.length;
    if (n >= RECENT_LIMIT) {
      this.recent = records.slice(n - RECENT_LIMIT).reverse();
    } else if (n > 0) {
      this.recent = records
        .slice()
        .reverse()
        .concat(this.recent.slice(0, RECENT_LIMIT - n));
    }
  }

  /** Copies safe to hand to the bus (the snapshot must not alias mutable state). */
  snapshotFields(): {
    total_episodes: number;
    total_bytes: number;
    hosts_indexed: Record<string, HostIndexed>;
    recent_episodes: EpisodeRecord[];
  } {
    const hosts: Record<string, HostIndexed> = {};
    for (const [k, v] of Object.entries(this.hosts_indexed)) hosts[k] = { ...v };
    return {
      total_episodes: this.total_episodes,
      total_bytes: this.total_bytes,
      hosts_indexed: hosts,
      recent_episodes: this.recent.slice(),
    };
  }
}
