/**
 * One explorer filter (issue 12): the catalog's SQL and the protocol's matcher (which the web app
 * applies to live rows) give the same rows for every filter, at every boundary.
 */
import { describe, expect, it } from 'vitest';
import { allPages } from '../../test/support/catalog.js';
import {
  type EpisodeFilter,
  type FilterParams,
  matchesEpisodeFilter,
  parseEpisodeFilter,
} from '../protocol/episode-filter.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { openDatabase } from './db.js';
import { EpisodeQueries } from './episodes-query.js';
import { EpisodeStore } from './ingest-store.js';
import { ensureEpisodeIndexes } from './schema.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

/** Records on every edge a filter has: bound times and sizes, case, missing values. */
function records(): EpisodeRecord[] {
  const out: EpisodeRecord[] = [];
  const ids = ['ep-a1', 'EP-A2', 'ep-b1', 'Ab12', 'ab12-x', 'deadbeef-ep', 'zz'];
  const hosts = ['h1', 'h2', 'H1'];
  let i = 0;
  for (const id of ids) {
    for (const host of hosts) {
      const sha = (i % 2 === 0 ? 'ABCDEF' : 'abcdef') + String(i).padStart(58, '0');
      out.push({
        episode_id: `${id}-${host}`,
        host_id: host,
        sha256: i % 7 === 3 ? null : sha,
        size_bytes: i % 5 === 4 ? null : 1000 + (i % 4) * 500,
        received_at: i % 6 === 5 ? null : iso(T0 + (i % 4) * 60_000),
      });
      i++;
    }
  }
  return out;
}

function params(q: Record<string, string | string[]>): FilterParams {
  return {
    all: (k) => [q[k] ?? []].flat().flatMap((v) => v.split(',')),
    one: (k) => {
      const v = q[k];
      return typeof v === 'string' && v !== '' ? v : undefined;
    },
  };
}

const FILTERS: Array<Record<string, string | string[]>> = [
  {},
  { host: 'h1' },
  { host: ['h1', 'H1'] },
  { q: 'ep-' },
  { q: 'EP-' },
  { q: 'ab12' },
  { q: 'AB12' },
  { q: 'Ab12' },
  { q: 'abcdef0' },
  { q: 'ABCDEF' },
  { q: 'deadbeef' },
  // Around the sha256 index's key (its first 16 characters): a prefix of it, of more, the whole.
  { q: 'ABCDEF0000000000' },
  { q: 'abcdef00000000000' },
  { q: `abcdef${'0'.repeat(56)}1` },
  { q: `ABCDEF${'0'.repeat(56)}12` },
  { q: `abcdef${'0'.repeat(56)}12` },
  { from: iso(T0 + 60_000) },
  { to: iso(T0 + 60_000) },
  { from: iso(T0 + 60_000), to: iso(T0 + 120_000) },
  { from: iso(T0 + 60_000), to: iso(T0 + 60_000) },
  { from: String((T0 + 120_000) / 1000) },
  { min_size: '1500' },
  { max_size: '1500' },
  { min_size: '1500', max_size: '1500' },
  { host: 'h2', q: 'ep-', to: iso(T0 + 120_000), min_size: '1000', max_size: '2000' },
];

describe('the explorer filter: catalog SQL and the shared matcher agree', () => {
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const all = records();
  new EpisodeStore(db).writeBatch(all, null);
  const queries = new EpisodeQueries(db);

  /** Every row the catalog gives for `f`, through its keyset pages (7 rows a page). */
  const fromCatalog = (f: EpisodeFilter) => allPages(queries, f, 7).sort();

  for (const q of FILTERS) {
    it(`on ${JSON.stringify(q)}`, () => {
      const f = parseEpisodeFilter(params(q));
      const want = all.filter((r) => matchesEpisodeFilter(r, f)).map((r) => r.episode_id);
      expect(fromCatalog(f)).toEqual(want.sort());
      expect(queries.total(f)).toBe(want.length);
    });
  }
});
