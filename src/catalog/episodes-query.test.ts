import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allPages, allSortedPages, keyOrder } from '../../test/support/catalog.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { DB_FILE, openDatabase } from './db.js';
import { type EpisodeFilter, EpisodeQueries, NO_FILTER } from './episodes-query.js';
import { EpisodeStore } from './ingest-store.js';
import { EPISODE_INDEX_NAMES, ensureEpisodeIndexes, SHA_KEY } from './schema.js';

const require = createRequire(import.meta.url);

/** More rows than a `q` may match and still be read through its indexes (FEW_BY_Q). */
const ROWS = 25_000;
const HOSTS = ['host-a', 'host-b', 'host-c'];

function record(i: number): EpisodeRecord {
  return {
    episode_id: `ep-${String(i).padStart(6, '0')}`,
    host_id: HOSTS[i % HOSTS.length] as string,
    sha256: createHash('sha256').update(String(i)).digest('hex'),
    size_bytes: 1000 + (i % 97),
    // Times not in arrival order: a page's order is the time's, not the row id's.
    received_at: new Date(Date.UTC(2026, 10, 1) + ((i * 7919) % ROWS) * 1000).toISOString(),
  };
}

/** Every row under `f` newest first (time, then arrival), the explorer's order, by hand. */
function expected(records: EpisodeRecord[], f: EpisodeFilter): string[] {
  const sha = f.q?.toLowerCase() ?? '';
  return records
    .map((r, id) => ({ r, id }))
    .filter(
      ({ r }) =>
        (f.hosts.length === 0 || f.hosts.includes(r.host_id)) &&
        (f.q === null || r.episode_id.startsWith(f.q) || (r.sha256 ?? '').startsWith(sha)),
    )
    .sort(
      (a, b) => Date.parse(b.r.received_at as string) - Date.parse(a.r.received_at as string) || b.id - a.id,
    )
    .map(({ r }) => r.episode_id);
}

/** Facets by hand: counts by host and by status of `rows`. */
function facetsOf(rows: ReadonlyArray<{ r: { host_id: string }; status: string }>): {
  host: Record<string, number>;
  status: Record<string, number>;
} {
  const host: Record<string, number> = {};
  const status: Record<string, number> = {};
  for (const x of rows) {
    host[x.r.host_id] = (host[x.r.host_id] ?? 0) + 1;
    status[x.status] = (status[x.status] ?? 0) + 1;
  }
  return { host, status };
}

/**
 * Checks a filter's pages (every row once, in `rows`' order), its total and its facets against
 * `rows`, the filter's rows by hand in the explorer's order.
 */
function expectListed(
  queries: EpisodeQueries,
  part: Partial<EpisodeFilter>,
  rows: ReadonlyArray<{ r: { episode_id: string; host_id: string }; status: string }>,
  limit: number,
): void {
  const f = { ...NO_FILTER, ...part };
  expect({ part, got: allPages(queries, f, limit) }).toEqual({ part, got: rows.map((x) => x.r.episode_id) });
  expect({ part, total: queries.total(f) }).toEqual({ part, total: rows.length });
  expect({ part, facets: queries.facets(f) }).toEqual({ part, facets: facetsOf(rows) });
}

describe('explorer queries: q over the id and sha256 indexes', () => {
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const records = Array.from({ length: ROWS }, (_, i) => record(i));
  new EpisodeStore(db).writeBatch(records, null);
  const queries = new EpisodeQueries(db);

  /** Every page of `f` (limit 40), concatenated. */
  const pages = (f: EpisodeFilter) => allPages(queries, f, 40);

  const sample = records[1234] as EpisodeRecord;
  const cases: Array<[string, Partial<EpisodeFilter>]> = [
    ['a full sha256', { q: sample.sha256 }],
    ['an 8-digit sha prefix', { q: (sample.sha256 as string).slice(0, 8) }],
    ['a 2-digit sha prefix, upper case', { q: (sample.sha256 as string).slice(0, 2).toUpperCase() }],
    ['a 1-digit sha prefix', { q: (sample.sha256 as string).slice(0, 1) }],
    ['an id', { q: sample.episode_id }],
    ['an id prefix matching every row (read along the time index)', { q: 'ep-' }],
    ['a 2-digit sha prefix with a host', { q: (sample.sha256 as string).slice(0, 2), hosts: ['host-b'] }],
    ['an id prefix matching every row, with two hosts', { q: 'ep-0', hosts: ['host-a', 'host-c'] }],
    ['nothing', { q: 'zz' }],
  ];
  it('pages sort=host and sort=status with a q matching more rows than FEW_BY_Q: every match once, in order', () => {
    // 'ep-0' matches all 25,000 rows: a key's rows are read along its ranges, each row checked.
    const sorted = (f: EpisodeFilter, sort: 'host' | 'status', order: 'asc' | 'desc', limit: number) => {
      const got: string[] = [];
      let cursor = null;
      do {
        const page = queries.pageSorted(f, { sort, order }, cursor, limit);
        got.push(...page.items.map((i) => i.episode_id));
        cursor = page.next;
      } while (cursor !== null);
      return got;
    };
    for (const [order, limit] of [
      ['asc', 700],
      ['desc', 333],
    ] as const) {
      const q = { ...NO_FILTER, q: 'ep-0' };
      const byHost = [...HOSTS].sort().flatMap((h) => expected(records, { ...q, hosts: [h] }));
      expect(sorted(q, 'host', order, limit)).toEqual(order === 'asc' ? byHost : byHost.reverse());
      // Every row is `unverified`: one status, newest first; two hosts' ranges merged.
      const two = { ...q, hosts: ['host-c', 'host-a'] };
      const newest = expected(records, two);
      expect(sorted(two, 'status', order, limit)).toEqual(order === 'asc' ? newest : newest.reverse());
    }
  });

  for (const [what, part] of cases) {
    it(`pages ${what} newest first, every match once, with its total`, () => {
      const f: EpisodeFilter = { ...NO_FILTER, ...part };
      const want = expected(records, f);
      expect(pages(f)).toEqual(want);
      expect(queries.total(f)).toBe(want.length);
    });
  }
});

describe('the episodes indexes', () => {
  it('are brought to this version: retired ones dropped, an older definition built again', () => {
    const db = openDatabase(null);
    // What an earlier version left: v2's sha-group index, a narrower size index, the host
    // order's index `sort=host` no longer reads, and the status's time index.
    db.exec('DROP INDEX IF EXISTS episodes_by_size');
    db.exec('CREATE INDEX episodes_by_size ON episodes(size_bytes, received_ms)');
    // The host index before it held the size (facets of a size filter read every row).
    db.exec('DROP INDEX IF EXISTS episodes_by_host_status_time');
    db.exec('CREATE INDEX episodes_by_host_status_time ON episodes(host_id, status, received_ms)');
    db.exec('CREATE INDEX IF NOT EXISTS episodes_order_host ON episodes(host_id)');
    // The index a status filter read before it became each host's range.
    db.exec('CREATE INDEX IF NOT EXISTS episodes_by_status_time ON episodes(status, received_ms)');
    const names = () =>
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'episodes' AND sql IS NOT NULL",
        )
        .pluck()
        .all() as string[];
    expect(names()).toContain('episodes_by_sha_group');
    expect(names()).toContain('episodes_order_host');
    expect(names()).toContain('episodes_by_status_time');
    ensureEpisodeIndexes(db);
    expect(names().sort()).toEqual([...EPISODE_INDEX_NAMES].sort());
    expect(
      db.prepare("SELECT sql FROM sqlite_master WHERE name = 'episodes_by_size'").pluck().get(),
    ).toContain('host_id');
    expect(
      db.prepare("SELECT sql FROM sqlite_master WHERE name = 'episodes_by_host_status_time'").pluck().get(),
    ).toContain('size_bytes');
    // Idempotent: nothing is built again when they are as wanted.
    const before = db.prepare('SELECT name, rootpage FROM sqlite_master ORDER BY name').all();
    ensureEpisodeIndexes(db);
    expect(db.prepare('SELECT name, rootpage FROM sqlite_master ORDER BY name').all()).toEqual(before);
  });

  it('serve a sha prefix through episodes_by_sha, never a scan of the table', () => {
    const db = openDatabase(null);
    ensureEpisodeIndexes(db);
    const plan = (
      db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT id FROM episodes WHERE ${SHA_KEY} >= ? AND ${SHA_KEY} < ? AND +host_id = ?
           AND received_ms >= ? ORDER BY received_ms DESC, id DESC LIMIT 101`,
        )
        .all('ab', 'ab\u{10ffff}', 'host-a', 0) as Array<{ detail: string }>
    )
      .map((r) => r.detail)
      .join(' | ');
    expect(plan).toContain('COVERING INDEX episodes_by_sha');
    expect(plan).not.toMatch(/SCAN episodes/);
  });
});

describe('explorer queries: one snapshot per page while another thread writes', () => {
  it('a host page lists every episode exactly once while the verifier moves rows between statuses', async () => {
    const { Worker } = await import('node:worker_threads');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-snapshot-'));
    try {
      const db = openDatabase(dir);
      const file = path.join(dir, DB_FILE);
      ensureEpisodeIndexes(db);
      const records = Array.from({ length: 3000 }, (_, i) => record(i));
      new EpisodeStore(db).writeBatch(records, null);
      const want = records.filter((r) => r.host_id === 'host-a').map((r) => r.episode_id);
      const queries = new EpisodeQueries(db);
      // A writer on its own connection and thread, as the verifier: moves every host-a row from one
      // status to another, commit after commit, until told to stop.
      const writer = new Worker(
        `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
         const { parentPort, workerData } = require('node:worker_threads');
         const db = new Database(workerData, { timeout: 5000 });
         const flip = db.prepare("UPDATE episodes SET status = CASE status WHEN 'ok' THEN 'unverified' ELSE 'ok' END WHERE host_id = 'host-a' AND id % 7 = ?");
         let stop = false, i = 0, commits = 0;
         parentPort.on('message', () => { stop = true; });
         const step = () => {
           if (stop) { db.close(); parentPort.postMessage(commits); return; }
           flip.run(i++ % 7); commits++;
           if (commits === 1) parentPort.postMessage('started');
           setImmediate(step);
         };
         step();`,
        { eval: true, workerData: file },
      );
      await new Promise((res, rej) => {
        writer.once('message', res);
        writer.once('error', rej);
      });
      const bad: string[] = [];
      for (let round = 0; round < 300; round++) {
        const f = { ...NO_FILTER, hosts: ['host-a'] };
        const ids = queries.page(f, null, 2000).items.map((i) => i.episode_id);
        if (ids.length !== want.length || new Set(ids).size !== ids.length)
          bad.push(`round ${round}: ${ids.length} items, ${new Set(ids).size} distinct of ${want.length}`);
      }
      writer.postMessage('stop');
      const commits = await new Promise<number>((res) =>
        writer.on('message', (m) => typeof m === 'number' && res(m)),
      );
      await writer.terminate();
      db.close();
      expect(commits).toBeGreaterThan(10);
      expect(bad.slice(0, 3)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('explorer queries: sort=status and sort=host', () => {
  // Statuses set by hand, received times with ties and some missing, small pages: every cursor
  // lands inside a run of equal keys.
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const statuses = ['ok', 'missing', 'corrupt', 'unverified'] as const;
  const n = 600;
  const records = Array.from({ length: n }, (_, i) => ({
    ...record(i),
    received_at: i % 11 === 0 ? null : new Date(Date.UTC(2026, 10, 1) + (i % 37) * 1000).toISOString(),
  }));
  new EpisodeStore(db).writeBatch(records, null);
  const setStatus = db.prepare('UPDATE episodes SET status = ? WHERE id = ?');
  for (let i = 0; i < n; i++) setStatus.run(statuses[(i * 7) % 4], i + 1);
  // Counted as the verifier counts what it classified (totals of host/status filters come from
  // these counts).
  db.exec(
    'INSERT INTO episode_counts (host_id, status, n) SELECT host_id, status, count(*) FROM episodes GROUP BY host_id, status',
  );
  const queries = new EpisodeQueries(db);
  const rank: Record<string, number> = { corrupt: 0, missing: 1, unindexed: 2, unverified: 3, ok: 4 };

  /**
   * The documented order: the key (worst status first; hosts A→Z), then newest first (untimed
   * last), then latest arrival; `desc` the very reverse.
   */
  const want = (sort: 'status' | 'host', order: 'asc' | 'desc', f: Partial<EpisodeFilter> = {}) => {
    const rows = records
      .map((r, i) => ({ id: i + 1, r, status: statuses[(i * 7) % 4] as string }))
      .filter(
        ({ r, status }) =>
          (!f.hosts?.length || f.hosts.includes(r.host_id)) &&
          (!f.statuses?.length || (f.statuses as string[]).includes(status)) &&
          (f.q === undefined || f.q === null || r.episode_id.startsWith(f.q)),
      )
      .sort(
        (a, b) =>
          (sort === 'status'
            ? (rank[a.status] as number) - (rank[b.status] as number)
            : a.r.host_id < b.r.host_id
              ? -1
              : a.r.host_id > b.r.host_id
                ? 1
                : 0) ||
          (a.r.received_at === null ? 1 : 0) - (b.r.received_at === null ? 1 : 0) ||
          Date.parse(b.r.received_at ?? '0') - Date.parse(a.r.received_at ?? '0') ||
          b.id - a.id,
      )
      .map(({ r }) => r.episode_id);
    return order === 'asc' ? rows : rows.reverse();
  };

  const pages = (sort: 'status' | 'host', order: 'asc' | 'desc', f: Partial<EpisodeFilter>, limit: number) =>
    allSortedPages(queries, { ...NO_FILTER, ...f }, { sort, order }, limit);

  for (const order of ['asc', 'desc'] as const) {
    for (const limit of [1, 7, 50]) {
      it(`status pages ${order} (limit ${limit}) give every row once, worst first, ties by received time`, () => {
        expect(pages('status', order, {}, limit)).toEqual(want('status', order));
        expect(pages('status', order, { hosts: ['host-b'] }, limit)).toEqual(
          want('status', order, { hosts: ['host-b'] }),
        );
      });
      it(`host pages ${order} (limit ${limit}) give every row once, hosts in order, ties by received time`, () => {
        expect(pages('host', order, {}, limit)).toEqual(want('host', order));
        for (const f of [
          { hosts: ['host-c', 'host-a'] },
          { statuses: ['missing', 'ok'] as EpisodeFilter['statuses'] },
          // `q`: the matches in one sorted query.
          { q: 'ep-0001' },
          { q: 'ep-0001', hosts: ['host-b'] },
        ]) {
          expect({ f, got: pages('host', order, f, limit) }).toEqual({ f, got: want('host', order, f) });
        }
      });
    }
  }

  it('a host cursor replayed under a host filter without that host lists only the filter hosts', () => {
    const f = { ...NO_FILTER, hosts: ['host-a', 'host-c'] };
    const page = queries.pageSorted(f, { sort: 'host', order: 'asc' }, ['host-b', 1, 5], 500);
    expect(page.items.map((i) => i.host_id)).not.toContain('host-b');
    expect(page.items.map((i) => i.episode_id)).toEqual(want('host', 'asc', { hosts: ['host-c'] }));
  });

  it('reads a host by status, each a range of episodes_by_host_status_time, never sorting its rows', () => {
    const plan = (
      db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT id FROM episodes WHERE host_id = ? AND status = ? AND received_ms < ?
           ORDER BY received_ms DESC, id DESC LIMIT 101`,
        )
        .all('host-a', 'ok', 0) as Array<{ detail: string }>
    )
      .map((r) => r.detail)
      .join(' | ');
    expect(plan).toContain('episodes_by_host_status_time');
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });

  /** Default order (newest first, untimed last, then latest arrival) of the rows under `f`. */
  const newest = (f: Partial<EpisodeFilter>) =>
    records
      .map((r, i) => ({ id: i + 1, r, status: statuses[(i * 7) % 4] as string }))
      .filter(
        ({ r, status }) =>
          (!f.statuses?.length || (f.statuses as string[]).includes(status)) &&
          (f.fromMs == null || (r.received_at !== null && Date.parse(r.received_at) >= f.fromMs)) &&
          (f.toMs == null || (r.received_at !== null && Date.parse(r.received_at) <= f.toMs)) &&
          (!f.hosts?.length || f.hosts.includes(r.host_id)) &&
          (f.minSize == null || (r.size_bytes as number) >= f.minSize) &&
          (f.maxSize == null || (r.size_bytes as number) <= f.maxSize),
      )
      .sort(
        (a, b) =>
          (a.r.received_at === null ? 1 : 0) - (b.r.received_at === null ? 1 : 0) ||
          Date.parse(b.r.received_at ?? '0') - Date.parse(a.r.received_at ?? '0') ||
          b.id - a.id,
      );
  it('a status with a size filter, while a cold load has the indexes dropped: the rows, their total and facets', () => {
    // A cold bulk load drops the secondary indexes until its rows are in; the explorer still
    // answers. The queries seen before the drop (the size index there) must not name it after.
    const own = openDatabase(null);
    ensureEpisodeIndexes(own);
    new EpisodeStore(own).writeBatch(records, null);
    const q = new EpisodeQueries(own);
    const f = { ...NO_FILTER, statuses: ['unverified'] as EpisodeFilter['statuses'], maxSize: 1010 };
    const rows = records.filter((r) => (r.size_bytes as number) <= 1010);
    expect(q.total(f)).toBe(rows.length);
    for (const name of EPISODE_INDEX_NAMES) own.exec(`DROP INDEX ${name}`);
    for (const g of [f, { ...f, maxSize: null, minSize: 1001 }]) {
      const want = records.filter(
        (r) =>
          (r.size_bytes as number) >= (g.minSize ?? 0) && (r.size_bytes as number) <= (g.maxSize ?? Infinity),
      );
      expect(allPages(q, g, 50)).toHaveLength(want.length);
      expect(q.total(g)).toBe(want.length);
      expect(q.facets(g).status).toEqual({ unverified: want.length });
      expect(q.pageSorted(g, { sort: 'status', order: 'asc' }, null, 500).items).toHaveLength(
        Math.min(500, want.length),
      );
    }
  });

  for (const limit of [1, 7, 50]) {
    it(`a status filter without a host (limit ${limit}) merges each host's range: every row once, newest first, its total and facets`, () => {
      // No index on the status alone: each host's range of `episodes_by_host_status_time`.
      const from = Date.UTC(2026, 10, 1) + 20_000;
      for (const part of [
        { statuses: ['missing'] },
        { statuses: ['ok', 'corrupt'] },
        { statuses: ['missing'], fromMs: from },
        { statuses: ['unverified', 'corrupt'], minSize: 1050 },
        // A time range alone, and with a host: its facets count each host's ranges.
        { fromMs: from },
        { fromMs: from, toMs: from + 10_000, hosts: ['host-a', 'host-c'] },
        // A size filter: each host's ranges too, the size checked in the index.
        { minSize: 1050 },
        { maxSize: 1020, fromMs: from },
        { hosts: ['host-b'], minSize: 1010, maxSize: 1080 },
        // A host named twice (the HTTP filter drops repeats; a direct caller may not) counts once.
        { hosts: ['host-c', 'host-a', 'host-c'], minSize: 1020 },
        { hosts: ['host-a', 'host-a'], fromMs: from },
        { hosts: ['host-b', 'host-b'], statuses: ['ok', 'ok', 'missing'] },
        { statuses: ['ok'], minSize: 1001, maxSize: 1001 },
      ] as Array<Partial<EpisodeFilter>>) {
        expectListed(queries, part, newest(part), limit);
      }
    });
  }

  it('facets of a size filter read no row: every statement reads episodes through a covering index', () => {
    // Read through the size index, a size filter's facets looked each row up for its status:
    // 4.3 s at 1M rows for a `min_size` matching half of them, on the server's event loop.
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    const spied = Object.assign(Object.create(db) as typeof db, {
      prepare: (sql: string) => {
        prepared.push(sql);
        return prepare(sql);
      },
    });
    for (const part of [
      { minSize: 1050 },
      { maxSize: 1020, fromMs: Date.UTC(2026, 10, 1) + 20_000 },
      { statuses: ['missing', 'ok'], minSize: 1010 },
    ] as Array<Partial<EpisodeFilter>>) {
      const f = { ...NO_FILTER, ...part };
      prepared.length = 0;
      // Its own instance: every statement prepared anew (an instance keeps its statements).
      expect(new EpisodeQueries(spied).facets(f)).toEqual(facetsOf(newest(part)));
      const reads = prepared.filter((sql) => /\bepisodes\b/.test(sql));
      expect(reads.length).toBeGreaterThan(0);
      for (const sql of reads) {
        const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
          .map((r) => r.detail)
          .filter((d) => /^(SCAN|SEARCH) episodes\b/.test(d));
        expect({ part, sql, plan }).toEqual({
          part,
          sql,
          plan: plan.map((d) => (d.includes('USING COVERING INDEX') ? d : 'reads the table')),
        });
      }
    }
  });
});

describe('explorer queries: a status without a host filter, more hosts than a statement each', () => {
  // A rare status reads every host's range in one statement, a common one walks the time index
  // (300 hosts, once the limit of one statement per host). Times with ties, some missing.
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const hostCount = 300;
  const n = 1500;
  const status = (i: number) => (i % 500 === 5 ? 'corrupt' : i % 3 === 0 ? 'ok' : 'missing');
  const records = Array.from({ length: n }, (_, i) => ({
    episode_id: `many-${String(i).padStart(5, '0')}`,
    host_id: `h-${String((i * 7) % hostCount).padStart(3, '0')}`,
    sha256: createHash('sha256').update(String(i)).digest('hex'),
    size_bytes: 1000 + (i % 13),
    received_at: i % 17 === 0 ? null : new Date(Date.UTC(2026, 10, 1) + (i % 401) * 1000).toISOString(),
  }));
  new EpisodeStore(db).writeBatch(records, null);
  const setStatus = db.prepare('UPDATE episodes SET status = ? WHERE id = ?');
  for (let i = 0; i < n; i++) setStatus.run(status(i), i + 1);
  db.exec(
    'INSERT INTO episode_counts (host_id, status, n) SELECT host_id, status, count(*) FROM episodes GROUP BY host_id, status',
  );
  const queries = new EpisodeQueries(db);
  const rank: Record<string, number> = { corrupt: 0, missing: 1, unindexed: 2, unverified: 3, ok: 4 };

  const rows = (f: Partial<EpisodeFilter>) =>
    records
      .map((r, i) => ({ id: i + 1, r, status: status(i) }))
      .filter(
        ({ r, status }) =>
          (!f.statuses?.length || (f.statuses as string[]).includes(status)) &&
          (f.fromMs == null || (r.received_at !== null && Date.parse(r.received_at) >= f.fromMs)) &&
          (f.toMs == null || (r.received_at !== null && Date.parse(r.received_at) <= f.toMs)) &&
          (f.minSize == null || r.size_bytes >= f.minSize),
      );
  const byTime = (a: { id: number; r: { received_at: string | null } }, b: typeof a) =>
    (a.r.received_at === null ? 1 : 0) - (b.r.received_at === null ? 1 : 0) ||
    Date.parse(b.r.received_at ?? '0') - Date.parse(a.r.received_at ?? '0') ||
    b.id - a.id;

  const from = Date.UTC(2026, 10, 1) + 200_000;
  const filters: Array<Partial<EpisodeFilter>> = [
    { statuses: ['corrupt'] },
    { statuses: ['corrupt'], fromMs: from },
    { statuses: ['corrupt', 'unverified'], minSize: 1005 },
    { statuses: ['ok'] },
    { statuses: ['ok'], fromMs: from },
    { statuses: ['missing', 'corrupt'], fromMs: from },
    { fromMs: from },
    { toMs: from },
  ];

  for (const limit of [1, 7, 50]) {
    it(`lists every row once, newest first, with its total and facets (limit ${limit})`, () => {
      for (const part of filters) expectListed(queries, part, rows(part).sort(byTime), limit);
    });
  }

  for (const order of ['asc', 'desc'] as const) {
    it(`sort=status ${order} gives every row once, worst first, ties by received time`, () => {
      for (const part of [{}, { statuses: ['corrupt', 'ok'] }] as Array<Partial<EpisodeFilter>>) {
        const want = rows(part)
          .sort((a, b) => (rank[a.status] as number) - (rank[b.status] as number) || byTime(a, b))
          .map((x) => x.r.episode_id);
        const ids: string[] = [];
        let cursor = null;
        do {
          const page = queries.pageSorted({ ...NO_FILTER, ...part }, { sort: 'status', order }, cursor, 7);
          ids.push(...page.items.map((i) => i.episode_id));
          cursor = page.next;
        } while (cursor !== null);
        expect({ part, ids }).toEqual({ part, ids: order === 'asc' ? want : want.reverse() });
      }
    });
  }
});

describe('explorer queries: sort=size with a host filter', () => {
  // A host of few rows is read through the host index and sorted; a large one walks the size
  // index, each row's host checked in it. Sizes with ties and some missing.
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const host = (i: number) => (i % 100 === 1 ? 'small' : i % 100 === 2 ? 'tiny' : 'big');
  const records = Array.from({ length: 6000 }, (_, i) => ({
    episode_id: `sz-${String(i).padStart(5, '0')}`,
    host_id: host(i),
    sha256: null,
    size_bytes: i % 23 === 0 ? null : 1000 + (i % 17),
    received_at: new Date(Date.UTC(2026, 10, 1) + (i % 61) * 1000).toISOString(),
  }));
  new EpisodeStore(db).writeBatch(records, null);
  const queries = new EpisodeQueries(db);

  const want = (hosts: string[], order: 'asc' | 'desc') =>
    keyOrder(records, (r) => r.size_bytes, hosts, order);

  for (const order of ['asc', 'desc'] as const) {
    for (const limit of [1, 7, 500]) {
      it(`lists every row of the hosts once, by size then arrival, missing sizes last (${order}, limit ${limit})`, () => {
        for (const hosts of [['small'], ['small', 'tiny'], ['big']]) {
          const ids = allSortedPages(queries, { ...NO_FILTER, hosts }, { sort: 'size', order }, limit);
          expect({ hosts, ids }).toEqual({ hosts, ids: want(hosts, order) });
        }
      });
    }
  }
});

describe('explorer queries: sort=received with tied times', () => {
  // Epoch-second times and times without a fraction tie at whole seconds: oldest first once
  // dropped and repeated rows at page edges (a tie in a page was put newest arrival first, while
  // the cursor went on by arrival).
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const records = Array.from({ length: 600 }, (_, i) => ({
    episode_id: `rt-${String(i).padStart(4, '0')}`,
    host_id: i % 5 === 0 ? 'few' : 'many',
    sha256: null,
    size_bytes: 100,
    received_at: i % 41 === 0 ? null : new Date(Date.UTC(2026, 10, 1) + (i % 13) * 1000).toISOString(),
  }));
  new EpisodeStore(db).writeBatch(records, null);
  const queries = new EpisodeQueries(db);

  const want = (hosts: string[], order: 'asc' | 'desc') =>
    keyOrder(records, (r) => (r.received_at === null ? null : Date.parse(r.received_at)), hosts, order);

  for (const order of ['asc', 'desc'] as const) {
    for (const limit of [1, 2, 7, 500]) {
      it(`lists every row once, by received time then arrival, missing times last (${order}, limit ${limit})`, () => {
        for (const hosts of [[], ['few'], ['many']]) {
          const ids = allSortedPages(queries, { ...NO_FILTER, hosts }, { sort: 'received', order }, limit);
          expect({ hosts, ids }).toEqual({ hosts, ids: want(hosts, order) });
        }
      });
    }
  }
});

describe('explorer queries: a host id that is not well-formed UTF-8', () => {
  // An index line's host may hold a lone surrogate (the full parse keeps it); SQLite keeps its
  // bytes, and they read back with U+FFFD. Nothing may look rows up by the read-back id.
  const db = openDatabase(null);
  ensureEpisodeIndexes(db);
  const hosts = ['x\ud800y', 'x\ue000y', 'plain'];
  const statuses = ['ok', 'missing', 'unverified'] as const;
  const records = Array.from({ length: 90 }, (_, i) => ({
    episode_id: `u-${String(i).padStart(3, '0')}`,
    host_id: hosts[i % 3] as string,
    sha256: null,
    size_bytes: 100 + i,
    received_at: i % 10 === 0 ? null : new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
  }));
  new EpisodeStore(db).writeBatch(records, null);
  const setStatus = db.prepare('UPDATE episodes SET status = ? WHERE id = ?');
  for (let i = 0; i < records.length; i++) setStatus.run(statuses[i % 3 === 0 ? 0 : i % 2 ? 1 : 2], i + 1);
  db.exec(
    'INSERT INTO episode_counts (host_id, status, n) SELECT host_id, status, count(*) FROM episodes GROUP BY host_id, status',
  );
  const queries = new EpisodeQueries(db);
  const sum = (o: Record<string, number | undefined>) =>
    Object.values(o).reduce<number>((a, b) => a + (b ?? 0), 0);

  it('counts every row in the facets and the total, as the pages list them, with or without a status', () => {
    const from = Date.UTC(2026, 10, 1);
    for (const part of [
      { fromMs: from },
      { fromMs: from, statuses: ['ok'] },
      { statuses: ['missing'] },
      { fromMs: from, statuses: ['missing', 'ok'] },
    ] as Array<Partial<EpisodeFilter>>) {
      const f = { ...NO_FILTER, ...part };
      const listed = allPages(queries, f, 7).length;
      const want = records.filter(
        (r, i) =>
          (f.fromMs === null || r.received_at !== null) &&
          (f.statuses.length === 0 ||
            (f.statuses as string[]).includes(statuses[i % 3 === 0 ? 0 : i % 2 ? 1 : 2])),
      ).length;
      const facets = queries.facets(f);
      expect({
        part,
        listed,
        total: queries.total(f),
        hosts: sum(facets.host),
        statuses: sum(facets.status),
      }).toEqual({ part, listed: want, total: want, hosts: want, statuses: want });
    }
  });
});
