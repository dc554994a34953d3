import type { EpisodeListItem, EpisodesPage } from '../../protocol/api.js';
import {
  DEFAULT_SORT,
  type EpisodeSort,
  FilterError,
  isDefaultSort,
  matchesEpisodeFilter,
  type EpisodeFilter as ProtocolFilter,
  parseEpisodeFilter,
  parseEpisodeSort,
} from '../../protocol/episode-filter.js';
import { getJson } from './api.js';

/** The Explorer's filter: exactly the query parameters of `GET /api/episodes`. */
export interface EpisodeFilter {
  host: string[];
  /** Episode id or sha256 prefix. */
  q: string;
  from: string;
  to: string;
  min_size: string;
  max_size: string;
  status: string[];
  /** Phases of labels.jsonl (any of them). */
  phase: string[];
}

export const EMPTY_FILTER: EpisodeFilter = {
  host: [],
  q: '',
  from: '',
  to: '',
  min_size: '',
  max_size: '',
  status: [],
  phase: [],
};

export function filterFromParams(params: URLSearchParams): EpisodeFilter {
  return {
    host: params.getAll('host').filter(Boolean),
    q: params.get('q') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    min_size: params.get('min_size') ?? '',
    max_size: params.get('max_size') ?? '',
    status: params.getAll('status').filter(Boolean),
    phase: params.getAll('phase').filter(Boolean),
  };
}

/** The filter as query parameters (empty fields left out), shared by the API call and the page URL. */
export function filterToParams(filter: EpisodeFilter): URLSearchParams {
  const params = new URLSearchParams();
  for (const h of filter.host) params.append('host', h);
  if (filter.q.trim()) params.set('q', filter.q.trim());
  for (const key of ['from', 'to', 'min_size', 'max_size'] as const) {
    if (filter[key].trim()) params.set(key, filter[key].trim());
  }
  for (const s of filter.status) params.append('status', s);
  for (const p of filter.phase) params.append('phase', p);
  return params;
}

export function isEmptyFilter(filter: EpisodeFilter): boolean {
  return filterToParams(filter).toString() === '';
}

/**
 * The filter parsed by the protocol's one rule (the server's), or the FilterError that says what
 * is wrong with it: the explorer says so instead of asking the server.
 */
export function parsedFilter(filter: EpisodeFilter): ProtocolFilter | FilterError {
  const params = filterToParams(filter);
  try {
    return parseEpisodeFilter({
      all: (k) =>
        params
          .getAll(k)
          .flatMap((v) => v.split(','))
          .filter((v) => v !== ''),
      one: (k) => params.get(k) || undefined,
    });
  } catch (err) {
    if (err instanceof FilterError) return err;
    throw err;
  }
}

/**
 * Whether a live episode (from the WebSocket, before the catalog answers) belongs under the filter:
 * the protocol's rule, the one the catalog applies (`to` inclusive, id prefix case-sensitive).
 */
export function matchesFilter(
  ep: {
    episode_id: string;
    host_id: string;
    sha256: string | null;
    size_bytes: number | null;
    received_at: string | null;
    receiver?: string;
  },
  filter: EpisodeFilter,
): boolean {
  const parsed = parsedFilter(filter);
  return !(parsed instanceof FilterError) && matchesEpisodeFilter(ep, parsed);
}

/**
 * Every episode under a filter, newest first, following `next_cursor` until `max` rows (export,
 * ingest history). `onProgress` hears the running count.
 */
export async function fetchAllEpisodes(
  params: URLSearchParams,
  max: number,
  signal?: AbortSignal,
  onProgress?: (n: number, total: number) => void,
): Promise<{ items: EpisodeListItem[]; total: number; truncated: boolean }> {
  const items: EpisodeListItem[] = [];
  let cursor: string | null = null;
  let total = 0;
  do {
    const q = new URLSearchParams(params);
    q.set('limit', String(Math.min(500, max - items.length)));
    if (cursor !== null) q.set('cursor', cursor);
    const page: EpisodesPage = await getJson<EpisodesPage>(`/api/episodes?${q}`, signal);
    items.push(...page.items);
    total = page.total;
    cursor = page.next_cursor;
    onProgress?.(items.length, total);
  } while (cursor !== null && items.length < max);
  return { items, total, truncated: cursor !== null };
}

/** The row order in the page URL (`sort`, `order`) by the protocol's rule, or the FilterError saying what is wrong. */
export function parsedSort(params: URLSearchParams): EpisodeSort | FilterError {
  try {
    return parseEpisodeSort({ all: (k) => params.getAll(k), one: (k) => params.get(k) || undefined });
  } catch (err) {
    if (err instanceof FilterError) return err;
    throw err;
  }
}

/** The row order in the page URL; a bad one falls back to newest first (the scene says it is bad). */
export function sortFromParams(params: URLSearchParams): EpisodeSort {
  const sort = parsedSort(params);
  return sort instanceof FilterError ? DEFAULT_SORT : sort;
}

/** Adds a non-default order to query parameters (the API call and the page URL). */
export function withSort(params: URLSearchParams, sort: EpisodeSort): URLSearchParams {
  if (!isDefaultSort(sort)) {
    params.set('sort', sort.sort);
    params.set('order', sort.order);
  }
  return params;
}
