import { fetchAllEpisodes } from '../../data/episodes.js';
import { receivedMs } from './ingest.js';

/** How many of the newest episodes the ingest chart reads from the catalog. */
export const HISTORY_MAX = 5000;
/** Reread the catalog at most this often (the kiosk remounts Overview every rotation). */
const MAX_AGE_MS = 5 * 60_000;
/** Ids kept to drop live episodes the history already counts (the state holds at most 200). */
const OVERLAP_IDS = 200;

/**
 * The ingest chart's history, kept compact: receipt times only (8 bytes an episode instead of the
 * whole record), plus the ids of the newest few so live episodes that raced the fetch are not
 * counted twice.
 */
export interface IngestHistory {
  times: number[];
  newestIds: Set<string>;
  /** The store's episode-event counter when the fetch started: later live episodes are not in it. */
  asOf: number;
  truncated: boolean;
  /** The hello count it was loaded under: a reconnect that reset the state rereads it. */
  key: number;
  loadedAt: number;
}

let cache: IngestHistory | null = null;

/** The cached history when fresh for `key`, else null. */
export function cachedHistory(key: number, now = Date.now()): IngestHistory | null {
  return cache !== null && cache.key === key && now - cache.loadedAt < MAX_AGE_MS ? cache : null;
}

export async function loadHistory(key: number, asOf: number, signal: AbortSignal): Promise<IngestHistory> {
  const fresh = cachedHistory(key);
  if (fresh !== null) return fresh;
  const { items, truncated } = await fetchAllEpisodes(new URLSearchParams(), HISTORY_MAX, signal);
  const times: number[] = [];
  for (const item of items) {
    const t = receivedMs(item.received_at);
    if (t !== null) times.push(t);
  }
  cache = {
    times,
    newestIds: new Set(items.slice(0, OVERLAP_IDS).map((i) => i.episode_id)),
    asOf,
    truncated,
    key,
    loadedAt: Date.now(),
  };
  return cache;
}
