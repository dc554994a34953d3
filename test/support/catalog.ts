import type { EpisodeFilter, EpisodeQueries, SortedCursor } from '../../src/catalog/episodes-query.js';
import type { EpisodeSort } from '../../src/protocol/episode-filter.js';
import type { EpisodeRecord } from '../../src/protocol/index.js';

/**
 * An index record for the catalog's integrity tests: a sha256 made from the id, received a minute
 * per the id's digits after 2026-01-01.
 */
export function episode(
  id: string,
  host: string,
  size: number,
  extra: Partial<EpisodeRecord> = {},
): EpisodeRecord {
  return {
    episode_id: id,
    host_id: host,
    sha256: `${id}-sha`.padEnd(64, '0'),
    size_bytes: size,
    received_at: new Date(Date.UTC(2026, 0, 1) + Number(id.replace(/\D/g, '')) * 60_000).toISOString(),
    ...extra,
  };
}

/** Every page of `f` (keyset paging, `limit` rows a page), concatenated: the ids in page order. */
export function allPages(queries: EpisodeQueries, f: EpisodeFilter, limit: number): string[] {
  const ids: string[] = [];
  let cursor = null;
  do {
    const page = queries.page(f, cursor, limit);
    ids.push(...page.items.map((i) => i.episode_id));
    cursor = page.next;
  } while (cursor !== null);
  return ids;
}

/** Every page of `f` in `sort` (keyset paging, `limit` rows a page), concatenated: the ids in page order. */
export function allSortedPages(
  queries: EpisodeQueries,
  f: EpisodeFilter,
  sort: EpisodeSort,
  limit: number,
): string[] {
  const ids: string[] = [];
  let cursor: SortedCursor | null = null;
  do {
    const page = queries.pageSorted(f, sort, cursor, limit);
    ids.push(...page.items.map((i) => i.episode_id));
    cursor = page.next;
  } while (cursor !== null);
  return ids;
}

/**
 * The documented order of a key sort (`sort=size`, `sort=received`) over rows written in array
 * order (row id = index + 1), of `hosts` (all when empty): by the key, rows without one last in
 * either order, ties by arrival; `desc` reverses key and arrival alike.
 */
export function keyOrder<R extends { episode_id: string; host_id: string }>(
  records: readonly R[],
  key: (r: R) => number | null,
  hosts: readonly string[],
  order: 'asc' | 'desc',
): string[] {
  const sign = order === 'asc' ? 1 : -1;
  return records
    .map((r, i) => ({ r, k: key(r), id: i + 1 }))
    .filter(({ r }) => hosts.length === 0 || hosts.includes(r.host_id))
    .sort(
      (a, b) =>
        (a.k === null ? 1 : 0) - (b.k === null ? 1 : 0) ||
        sign * ((a.k ?? 0) - (b.k ?? 0)) ||
        sign * (a.id - b.id),
    )
    .map(({ r }) => r.episode_id);
}
