import type { EpisodeFilter, EpisodeQueries } from '../../src/catalog/episodes-query.js';

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
