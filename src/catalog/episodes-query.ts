import type Database from 'better-sqlite3';
import { EPISODE_STATUSES, type EpisodeListItem, type EpisodeStatus } from '../protocol/api.js';
import { dict } from '../protocol/index.js';
import type { Db } from './db.js';
import { episodeFromRow } from './ingest-store.js';
import { EPISODE_PATH, SHA_KEY, SHA_KEY_CHARS } from './schema.js';
import { timeRunsAfter } from './time-runs.js';

/**
 * The explorer's queries over the catalog: filtered, newest-first keyset pages of episodes
 * (indexed rows and unindexed files together), their total and facet counts.
 *
 * Order: received time descending (rows without one last), then arrival id descending.
 * Unindexed files have no index line; they sort by their modification time and come before an
 * indexed row with the same millisecond.
 */

// The filter is the protocol's, shared with the web app (one parse and match rule).
export { type EpisodeFilter, NO_FILTER } from '../protocol/episode-filter.js';

import {
  type EpisodeFilter,
  type EpisodeSort,
  type EpisodeSortKey,
  isShaPrefix,
  NO_FILTER,
  STATUS_RANK,
} from '../protocol/episode-filter.js';

/** Position after the last row of a page: [sort ms or null, source (1 index, 0 file), row id]. */
export type EpisodeCursor = readonly [number | null, 0 | 1, number];

export interface EpisodePageResult {
  items: EpisodeListItem[];
  next: EpisodeCursor | null;
  total: number;
}

const INDEXED = 1;
const FILE = 0;
/** Statuses an indexed row can have (unindexed is a file without a row). */
const ROW_STATUSES = EPISODE_STATUSES.filter((s) => s !== 'unindexed');
/** More per-host/status partitions than this: one query with IN lists instead of a merge. */
const MAX_PARTITIONS = 48;
/**
 * More hosts than this in the catalog: a status without a host filter always walks the time
 * index (`statusHosts`; an IN list of every host is a statement made again when a host comes or
 * goes).
 */
const MAX_STATUS_IN_HOSTS = 4096;
/** Below every real time: lets `received_ms >= ?` double as "has a received time". */
const MIN_MS = -Number.MAX_SAFE_INTEGER;

interface SortedRow {
  ms: number | null;
  src: 0 | 1;
  id: number;
  item: EpisodeListItem;
}

interface Sql {
  where: string[];
  params: Array<string | number>;
  /**
   * The index the conditions are read through, named (`INDEXED BY`; the one way a statement here
   * names one): every host's range in one statement, a size filter of few rows, a count along the
   * time index (`countIndex`). For every host's range: left to itself SQLite took the time index once the conditions bounded the time on
   * both sides (`to`) and the hosts were many (≈ 1,000 with two statuses), and checked the hosts
   * on every row of the range: 392 ms for a page of a status with 3 rows at 2,000 hosts and 1M
   * rows.
   */
  index?: string;
}

/** The episodes table in a statement, through `sql`'s index when it names one. */
function episodesFor(sql: Sql): string {
  return sql.index === undefined ? 'episodes' : `episodes INDEXED BY ${sql.index}`;
}

/**
 * Rows a `q` may match and still be read through the id and sha256 indexes (then sorted by time):
 * at 1M rows a 2-digit sha prefix matches ≈ 3,900 (sorted in a few ms), while the time index
 * walked for a page of them checks ≈ 26,000 rows.
 */
const FEW_BY_Q = 20_000;

/** Rows a size filter may match and still be read through the size index (then sorted by time). */
const FEW_BY_SIZE = 2000;

/**
 * Rows the hosts of a host filter may hold and still be read through the host index for
 * `sort=size` (each row read for its size, then sorted): ≈ 1.5 µs a row, where walking the size
 * index for a page of them checks ≈ page ÷ the hosts' share of entries at ≈ 0.15 µs each — even
 * at ≈ 3,000 of 1M rows, and ever better for smaller hosts (a host of 4,096: ≈ 250 rows against
 * a walk of ≈ 400,000 entries).
 */
const FEW_BY_HOSTS = 3000;

/**
 * Rows a time range holds per host and status, at least, for its facets to be counted by a seek
 * per host and status (`countsByRanges`; ≈ 5 µs a seek) rather than by grouping its rows (≈ 1 µs
 * a row sorted, where a range counted costs ≈ 0.06 µs a row).
 */
const RANGE_ROWS_PER_PAIR = 4;

const EPISODE_COLUMNS = `id, episode_id, host_id, sha256, size_bytes, received_at, received_ms, ${EPISODE_PATH} AS path, extra, status`;

/** True when the filter narrows only by host and status (totals then come from counts). */
function onlyHostStatus(f: EpisodeFilter): boolean {
  return (
    f.q === null &&
    f.fromMs === null &&
    f.toMs === null &&
    f.minSize === null &&
    f.maxSize === null &&
    f.phases.length === 0
  );
}

/**
 * Phases come from the phase mix's label cache (`phase_cache`, by file path), and count only for
 * the file as it is on disk now (same size and mtime) and read without error: an episode whose
 * tarball has not been read, or changed since, or could not be read, has no known phase.
 */
const READ_LABELS = `phase_cache pc JOIN disk_files d
  ON d.rel_path = pc.rel_path AND d.size = pc.size AND d.mtime_ms = pc.mtime_ms AND pc.status = 'ok'`;

function hasPhase(phases: readonly string[], sql: Sql): string {
  sql.params.push(...phases);
  return `EXISTS (SELECT 1 FROM json_each(pc.counts) j WHERE j.key IN (${phases.map(() => '?').join(',')}))`;
}

/** Index rows whose tarball's labels hold one of `phases`. */
function rowPhaseCondition(phases: readonly string[], sql: Sql): void {
  if (phases.length === 0) return;
  const inner: Sql = { where: [], params: [] };
  const cond = hasPhase(phases, inner);
  sql.where.push(
    `episodes.id IN (SELECT d.episode_row FROM ${READ_LABELS} WHERE d.episode_row IS NOT NULL AND ${cond})`,
  );
  sql.params.push(...inner.params);
}

/** Unindexed files whose labels hold one of `phases`. */
function filePhaseCondition(phases: readonly string[], sql: Sql): void {
  if (phases.length === 0) return;
  const inner: Sql = { where: [], params: [] };
  const cond = hasPhase(phases, inner);
  sql.where.push(
    `EXISTS (SELECT 1 FROM phase_cache pc WHERE pc.rel_path = disk_files.rel_path AND pc.size = disk_files.size
      AND pc.mtime_ms = disk_files.mtime_ms AND pc.status = 'ok' AND ${cond})`,
  );
  sql.params.push(...inner.params);
}

function wantsRows(f: EpisodeFilter): readonly EpisodeStatus[] {
  return f.statuses.length === 0 ? ROW_STATUSES : f.statuses.filter((s) => s !== 'unindexed');
}

function wantsFiles(f: EpisodeFilter): boolean {
  return f.statuses.length === 0 || f.statuses.includes('unindexed');
}

function inList(column: string, values: readonly string[], sql: Sql): void {
  sql.where.push(`${column} IN (${values.map(() => '?').join(',')})`);
  sql.params.push(...values);
}

/** The smallest string greater than every string starting with `prefix`. */
function prefixEnd(prefix: string): string {
  return `${prefix}\u{10ffff}`;
}

/** Conditions shared by rows and files except time and q, which differ per table. */
function sizeConditions(f: EpisodeFilter, column: string, sql: Sql): void {
  if (f.minSize !== null) {
    sql.where.push(`${column} >= ?`);
    sql.params.push(f.minSize);
  }
  if (f.maxSize !== null) {
    sql.where.push(`${column} <= ?`);
    sql.params.push(f.maxSize);
  }
}

/** The id and sha256 ranges a `q` prefix covers (no sha256 range when `q` is not hex). */
function qRanges(q: string): { id: [string, string]; sha: [string, string] | null } {
  // A sha256 is stored as 64 lowercase hex digits.
  const sha = q.toLowerCase();
  return { id: [q, prefixEnd(q)], sha: isShaPrefix(q) ? [sha, prefixEnd(sha)] : null };
}

/**
 * `q`: an episode id prefix, or a sha256 prefix (hex): one condition per range, each a range of
 * its own index (the unique id key, `episodes_by_sha`). `indexed` false writes them with their
 * columns unindexable (`+`).
 */
function qArms(q: string, indexed = true): Sql[] {
  const { id, sha } = qRanges(q);
  const p = indexed ? '' : '+';
  const arms: Sql[] = [{ where: [`${p}episode_id >= ? AND ${p}episode_id < ?`], params: [...id] }];
  if (sha === null) return arms;
  if (!indexed) {
    arms.push({ where: ['+sha256 >= ? AND +sha256 < ?'], params: [...sha] });
    return arms;
  }
  // The index keeps the sha256's first SHA_KEY_CHARS characters: a prefix up to that long is a
  // range of it alone (a value starts with the prefix exactly when its first characters do); a
  // longer one is that range (≈ 1 row at 1M) checked against the whole sha256.
  const key = sha[0].slice(0, SHA_KEY_CHARS);
  const arm: Sql = { where: [`${SHA_KEY} >= ? AND ${SHA_KEY} < ?`], params: [key, prefixEnd(key)] };
  if (sha[0].length > SHA_KEY_CHARS)
    arms.push(merge(arm, { where: ['sha256 >= ? AND sha256 < ?'], params: [...sha] }));
  else arms.push(arm);
  return arms;
}

/**
 * `q` as one condition (either range). Unindexed, the rows are read in the page's order (the
 * time index) and each checked, which is faster when the prefix matches many rows (`fewByQ`).
 */
function qCondition(q: string, sql: Sql, indexed = true): void {
  const arms = qArms(q, indexed);
  sql.where.push(`(${arms.map((a) => `(${a.where.join(' AND ')})`).join(' OR ')})`);
  for (const a of arms) sql.params.push(...a.params);
}

/** WHERE parts for indexed rows, except the keyset bound and received-time bound. */
function rowConditions(
  f: EpisodeFilter,
  partition: { host?: string; hosts?: readonly string[]; status?: string } | null,
  hostIndexed = f.q === null,
  qIndexed = true,
): Sql {
  const sql: Sql = { where: [], params: [] };
  // `+host_id`: the host is then checked on each row, not looked up through a host index. With
  // `q` (an id or sha prefix: a few rows through their own index), or a sort by size or status
  // (a range of that key's index, 1 row in 24 of a host), walking the host's rows instead read
  // every row of the host (0.5–2 s at 1M rows).
  const host = hostIndexed ? 'host_id' : '+host_id';
  if (partition?.host !== undefined) {
    sql.where.push(`${host} = ?`);
    sql.params.push(partition.host);
  } else if (partition?.hosts !== undefined) {
    inList(host, partition.hosts, sql);
    sql.index = 'episodes_by_host_status_time';
  } else if (f.hosts.length > 0) {
    inList(host, f.hosts, sql);
  }
  const statuses = wantsRows(f);
  if (partition?.status !== undefined) {
    sql.where.push('status = ?');
    sql.params.push(partition.status);
  } else if (statuses.length < ROW_STATUSES.length) {
    inList('status', statuses, sql);
  }
  sizeConditions(f, 'size_bytes', sql);
  if (f.q !== null) qCondition(f.q, sql, qIndexed);
  rowPhaseCondition(f.phases, sql);
  return sql;
}

/**
 * A part of a filter's index rows: one host's range of one status, read in order; every host's
 * range of the filter's statuses in one statement (`hosts`: SQLite reads each range in order and
 * leaves it once it cannot reach the page's rows, then sorts what it kept); null: the filter whole.
 */
type Partition = { host: string; status: string } | { hosts: readonly string[] } | null;

/**
 * The hosts whose ranges of `episodes_by_host_status_time` serve a host/status filter: read one
 * by one and merged here, or all in one statement (`together`, Partition's `hosts`).
 */
interface HostRanges {
  hosts: readonly string[];
  together: boolean;
}

function compareDesc(a: SortedRow, b: SortedRow): number {
  // Newest first; a missing time sorts last.
  if (a.ms !== b.ms) {
    if (a.ms === null) return 1;
    if (b.ms === null) return -1;
    return b.ms - a.ms;
  }
  return b.src - a.src || b.id - a.id;
}

interface RawRow {
  id: number;
  episode_id: string;
  host_id: string;
  sha256: string | null;
  size_bytes: number | null;
  received_at: string | null;
  received_ms: number | null;
  path: string | null;
  extra: string | null;
  status: EpisodeStatus;
}

function rowItem(r: RawRow): SortedRow {
  return { ms: r.received_ms, src: INDEXED, id: r.id, item: { ...episodeFromRow(r), status: r.status } };
}

interface FileRawRow {
  id: number;
  rel_path: string;
  host_id: string;
  episode_id: string;
  size: number;
  mtime_ms: number;
}

function fileItem(r: FileRawRow): SortedRow {
  return {
    ms: r.mtime_ms,
    src: FILE,
    id: r.id,
    item: {
      episode_id: r.episode_id,
      host_id: r.host_id,
      sha256: null,
      size_bytes: r.size,
      received_at: null,
      path: r.rel_path,
      status: 'unindexed',
    },
  };
}

/**
 * The keyset bound for a source `src` after `cursor` in descending (ms, src, id) order, as SQL
 * over `msCol`/`idCol`. `nonNull`: the bound for rows with a time; else for rows without one.
 * Returns null when no row of this kind can follow the cursor.
 */
function afterCursor(
  cursor: EpisodeCursor | null,
  src: 0 | 1,
  nonNull: boolean,
  msCol: string,
  idCol: string,
): Sql | null {
  const sql: Sql = { where: [], params: [] };
  if (cursor === null) return sql;
  const [cms, csrc, cid] = cursor;
  if (cms === null) {
    if (nonNull) return null; // every timed row came before the untimed cursor
    if (src > csrc) return null;
    if (src === csrc) {
      sql.where.push(`${idCol} < ?`);
      sql.params.push(cid);
    }
    return sql;
  }
  if (!nonNull) return sql; // untimed rows all follow a timed cursor
  if (src === csrc) {
    sql.where.push(`(${msCol}, ${idCol}) < (?, ?)`);
    sql.params.push(cms, cid);
  } else {
    sql.where.push(`${msCol} ${src < csrc ? '<=' : '<'} ?`);
    sql.params.push(cms);
  }
  return sql;
}

/**
 * The filter with each host and status once: the HTTP filter drops repeats (protocol/episode-filter.ts),
 * a direct caller may not, and a host named twice was read twice (its rows paged and counted twice).
 */
function distinct(f: EpisodeFilter): EpisodeFilter {
  const hosts = new Set(f.hosts);
  const statuses = new Set(f.statuses);
  if (hosts.size === f.hosts.length && statuses.size === f.statuses.length) return f;
  return { ...f, hosts: [...hosts], statuses: [...statuses] };
}

/** Builds and runs the explorer's queries on one connection (prepared statements are cached). */
export class EpisodeQueries {
  private readonly cache = new Map<string, Database.Statement<unknown[]>>();
  private readonly memo = new Map<string, { version: string; value: unknown }>();

  constructor(private readonly db: Db) {}

  /**
   * Totals and facets of a filter stay valid until another connection commits (the catalog
   * writer, the verifier): paging through one filter counts it once, not once per page.
   */
  private remember<T>(key: string, compute: () => T): T {
    // data_version moves on other connections' commits; total_changes on this one's (the phase
    // mix writes its label cache on the connection the explorer reads with); schema_version on
    // any index made or dropped (`hasIndex`), on this connection too.
    const version = `${this.db.pragma('data_version', { simple: true })}:${this.stmt('SELECT total_changes()').pluck().get()}:${this.db.pragma('schema_version', { simple: true })}`;
    const hit = this.memo.get(key);
    if (hit && hit.version === version) return hit.value as T;
    const value = compute();
    if (this.memo.size >= 256) this.memo.clear();
    this.memo.set(key, { version, value });
    return value;
  }

  private stmt(sql: string): Database.Statement<unknown[]> {
    let s = this.cache.get(sql);
    if (!s) {
      if (this.cache.size > 500) this.cache.clear();
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /**
   * Splits a host/status filter into partitions: the filter's hosts, each with each status, a
   * range of `episodes_by_host_status_time` read in order; or with a status filter and no host
   * filter every host of the catalog, in one partition (`statusHosts`; `use`: for a page or for a
   * count). [null] (the filter whole) with a `q`, with every status, or with too many partitions.
   */
  private partitions(f: EpisodeFilter, use: 'page' | 'count' = 'page'): Partition[] {
    const statuses = wantsRows(f);
    if (statuses.length === 0) return [];
    if (f.q !== null) return [null];
    const ranges = this.partitionHosts(f, statuses, use);
    if (ranges === null) return [null];
    if (ranges.together) return [{ hosts: ranges.hosts }];
    return ranges.hosts.flatMap((host) => statuses.map((status) => ({ host, status })));
  }

  /**
   * The hosts whose ranges of `statuses` serve the filter (`partitions`, and each status of
   * `sort=status`): the filter's (hosts × statuses up to MAX_PARTITIONS), or with a status filter
   * every host of the catalog, together (`statusHosts`); null: the filter whole, along the time
   * index.
   */
  private partitionHosts(
    f: EpisodeFilter,
    statuses: readonly EpisodeStatus[],
    use: 'page' | 'count',
  ): HostRanges | null {
    if (f.hosts.length > 0)
      return f.hosts.length * statuses.length > MAX_PARTITIONS ? null : { hosts: f.hosts, together: false };
    return statuses.length < ROW_STATUSES.length ? this.statusHosts(f, statuses, use) : null;
  }

  /**
   * A filter `f` on `statuses` without a host filter (there is no index on the status alone) is
   * read through every host's range of them in `episodes_by_host_status_time`, in one statement
   * (`together`: `host_id IN (…)`, SQLite leaves a host's range once it cannot reach the page), or
   * (null) along the time index, each row's status checked in the index. Through the hosts a page
   * reads at least a seek per host; the walk reads a page ÷ the statuses' share of the rows. So
   * for a page the hosts when that share is under 1 ÷ hosts (a rare status: `corrupt`, or `ok`
   * before the verifier has come far), the walk when it is not (`unverified` after a cold load).
   * A count (`use`) reads every matching row either way, so it takes the hosts (only the statuses'
   * rows) unless a size filter needs each row's size: the walk then reads host, status and size in
   * the time index. The share is read from the maintained counts (episode_counts and the rows not
   * classified yet): a choice of path only, each path lists the same rows. Always the walk: past
   * MAX_STATUS_IN_HOSTS hosts; a phase filter (its `id IN (…)` beside the hosts'); a size filter
   * matching few rows (the size index gives them all at once); or no host index (a cold load
   * builds it after its rows: each host would be a scan of the table). One statement, not one a
   * host merged here: at 400 hosts and a status with no rows that was 800 statements (p99 134 ms
   * → 7.9 ms at 1M rows), and on the foreign root (37 hosts, `ok` 2,000 rows) every host read a
   * page of rows for the page to keep one (p50 19.2 → 4.0 ms).
   */
  private statusHosts(
    f: EpisodeFilter,
    statuses: readonly EpisodeStatus[],
    use: 'page' | 'count',
  ): HostRanges | null {
    if (f.phases.length > 0 || !this.hasIndex('episodes_by_host_status_time') || this.fewBySize(f))
      return null;
    const listed = this.catalogHosts();
    if (listed === null) return null;
    const ranges = { hosts: listed, together: true };
    if (listed.length <= 1) return ranges;
    if (use === 'count' && f.minSize === null && f.maxSize === null) return ranges;
    // Index rows by status: the facets of every row status (from the maintained counts).
    const counts = this.facets({ ...NO_FILTER, statuses: ROW_STATUSES }).status;
    let rows = 0;
    let all = 0;
    for (const [status, n] of Object.entries(counts)) {
      all += n;
      if (statuses.includes(status as EpisodeStatus)) rows += n;
    }
    return rows * listed.length < all ? ranges : null;
  }

  /**
   * Every host of the catalog's rows, in byte order; null past MAX_STATUS_IN_HOSTS, or when a
   * host id is not read back as stored: an id that is not well-formed UTF-8 (an index line may
   * hold a lone surrogate) comes back with U+FFFD in it, matches no row in an IN list, and the
   * walk from it skips the hosts stored between the two forms (a review found a host's rows
   * missing from the facets). The callers then take the paths that name no host.
   */
  private catalogHosts(): readonly string[] | null {
    return this.remember('catalog hosts', () => {
      const found: string[] = [];
      for (let h = this.nextCatalogHost('asc', null); h !== null; h = this.nextCatalogHost('asc', h)) {
        if (found.length === MAX_STATUS_IN_HOSTS || h.includes('\uFFFD')) return null;
        found.push(h);
      }
      return found;
    });
  }

  /**
   * Counts by host and status of a filter on hosts, statuses, received time and size only (facets
   * of a time range or a size): each host's range of each status in `episodes_by_host_status_time`, counted on
   * its own (SQLite counts an index range without reading its entries' columns). A GROUP BY along
   * the time index sorted every row of the range first, and one along the host index read each
   * row's host and status: in memory, 1M rows, the 12-host root, a slow day, every row 1,030 ms
   * (time index) → 178 ms (host index, grouped) → 67 ms (ranges); a status and a week 27 → 12 ms.
   * The size is checked in the index, so a size filter is no row read either (`min_size` matching
   * half the rows: 4.3 s along the size index, reading each row's status). Null for any other
   * filter, or without the index.
   */
  private countsByRanges(
    f: EpisodeFilter,
  ): Array<{ host_id: string; status: EpisodeStatus; n: number }> | null {
    if (f.q !== null || f.phases.length > 0) return null;
    if (!this.hasIndex('episodes_by_host_status_time')) return null;
    // A range of few rows (under RANGE_ROWS_PER_PAIR a host and status) is counted faster by
    // grouping its rows than by a seek per host and status (4,096 hosts, one instant: 89.5 ms
    // against 0.2 ms): the caller's GROUP BY then. Told by counting up to that many, before the
    // catalog's hosts are listed (a seek each); how many there are, host_totals says.
    const hostCount =
      f.hosts.length > 0
        ? f.hosts.length
        : (this.stmt('SELECT count(*) FROM host_totals').pluck().get() as number);
    const enough = hostCount * wantsRows(f).length * RANGE_ROWS_PER_PAIR;
    const probe: Sql = { where: [], params: [] };
    this.timeConditions(f, 'received_ms', probe);
    sizeConditions(f, 'size_bytes', probe);
    const inRange = this.stmt(`SELECT count(*) FROM (SELECT 1 FROM episodes ${where(probe)} LIMIT ?)`)
      .pluck()
      .get(...probe.params, enough) as number;
    if (inRange < enough) return null;
    const hosts = f.hosts.length > 0 ? f.hosts : this.catalogHosts();
    if (hosts === null) return null;
    const range: Sql = {
      where: ['host_id = h.value', 'status = s.value'],
      params: [],
      index: 'episodes_by_host_status_time',
    };
    this.timeConditions(f, 'received_ms', range);
    // The size is in the index: checked there, no row read.
    sizeConditions(f, 'size_bytes', range);
    // Hosts and statuses as JSON arrays (json_each): one statement whatever their number.
    return this.stmt(
      `SELECT h.value AS host_id, s.value AS status, (SELECT count(*) FROM ${episodesFor(range)} ${where(range)}) AS n
       FROM json_each(?) h, json_each(?) s`,
    ).all(...range.params, JSON.stringify(hosts), JSON.stringify(wantsRows(f))) as Array<{
      host_id: string;
      status: EpisodeStatus;
      n: number;
    }>;
  }

  /**
   * One page, newest first, after `cursor`. Its parts (one query per host and status, the
   * unindexed files, the total) are read in one transaction, so in one snapshot: read one by one,
   * a row the verifier moved from `unverified` to `ok` between two parts was in neither (or in
   * both) — an episode missing from its host's page while the total counted it.
   */
  page(filter: EpisodeFilter, cursor: EpisodeCursor | null, limit: number): EpisodePageResult {
    const f = distinct(filter);
    return this.db.transaction(() => this.pageNow(f, cursor, limit))();
  }

  private pageNow(f: EpisodeFilter, cursor: EpisodeCursor | null, limit: number): EpisodePageResult {
    const want = limit + 1;
    const found: SortedRow[] = [];
    for (const part of this.partitions(f)) found.push(...this.rowsIn(f, part, cursor, want));
    if (wantsFiles(f)) found.push(...this.filesIn(f, cursor, want));
    found.sort(compareDesc);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => r.item),
      next: found.length > limit && last ? [last.ms, last.src, last.id] : null,
      total: this.total(f),
    };
  }

  /**
   * One page in another order than newest first: index rows as ranges of an index after the
   * cursor (sortedRows: `episodes_by_host_status_time`, `episodes_by_size`); unindexed files
   * (few) by a top-N sort.
   */
  pageSorted(
    f: EpisodeFilter,
    sort: EpisodeSort,
    cursor: SortedCursor | null,
    limit: number,
  ): { items: EpisodeListItem[]; next: SortedCursor | null; total: number } {
    // One snapshot for every part, as `page`.
    const g = distinct(f);
    return this.db.transaction(() => this.pageSortedNow(g, sort, cursor, limit))();
  }

  private pageSortedNow(
    f: EpisodeFilter,
    sort: EpisodeSort,
    cursor: SortedCursor | null,
    limit: number,
  ): { items: EpisodeListItem[]; next: SortedCursor | null; total: number } {
    const want = limit + 1;
    const dir = sort.order === 'asc' ? 'ASC' : 'DESC';
    const cols = sortColumns(sort.sort);
    const found: KeyedRow[] = [];
    if (wantsRows(f).length > 0) found.push(...this.sortedRows(f, sort, cursor, want));
    const fileBound = wantsFiles(f) ? afterSortedCursor(cursor, sort.order, FILE, cols.file, 'rowid') : null;
    if (fileBound) {
      const sql = merge(this.fileConditions(f), fileBound);
      const rows = this.stmt(
        `SELECT rowid AS id, rel_path, host_id, episode_id, size, mtime_ms, (${cols.file}) AS sort_key
         FROM disk_files ${where(sql)} ORDER BY (${cols.file}) IS NULL, (${cols.file}) ${dir}, rowid ${dir} LIMIT ?`,
      ).all(...sql.params, want) as Array<FileRawRow & { sort_key: number | string | null }>;
      for (const r of rows)
        found.push({ key: r.sort_key, src: FILE, id: r.id, ms: null, item: fileItem(r).item });
    }
    // By status or host, a key's index rows go by received time (and a host's come per status:
    // the sort merges them); by size or received time, by id, as sortedRows reads them and the
    // cursor goes on (a tie by time here put tied rows newest arrival first: paging oldest first
    // dropped and repeated them).
    found.sort(compareSorted(sort.order, sort.sort === 'size' || sort.sort === 'received' ? 'id' : 'time'));
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => r.item),
      next: found.length > limit && last ? [last.key, last.src, last.id] : null,
      total: this.total(f),
    };
  }

  /**
   * Index rows of a sorted page, each part a range of one index in order. `status` and `host`
   * (groupedRows): one key after another, each key's rows by received time. `size`: the rest of
   * the cursor's size by id, then the sizes after it (`episodes_by_size`, its few rows per size
   * put in id order), then rows without a size.
   */
  private sortedRows(
    f: EpisodeFilter,
    sort: EpisodeSort,
    cursor: SortedCursor | null,
    want: number,
  ): KeyedRow[] {
    const position = sortedPosition(sort.order, cursor);
    if (sort.sort === 'status' || sort.sort === 'host') return this.groupedRows(f, sort, position, want);
    const out: KeyedRow[] = [];
    const dir = sort.order === 'asc' ? 'ASC' : 'DESC';
    const cmp = sort.order === 'asc' ? '>' : '<';
    const key = sortColumns(sort.sort).row;
    // `+host_id`: a host filter is checked on the size index's rows (see rowConditions), unless
    // its hosts hold few rows: those are read through the host index and sorted.
    const hostIndexed = this.fewByHosts(f);
    const read = (sql: Sql, order: string) => {
      if (out.length >= want) return;
      this.timeConditions(f, 'received_ms', sql);
      if (hostIndexed) sql.index = 'episodes_by_host_status_time';
      const rows = this.stmt(
        `SELECT ${EPISODE_COLUMNS}, (${key}) AS sort_key FROM ${episodesFor(sql)} ${where(sql)} ORDER BY ${order} LIMIT ?`,
      ).all(...sql.params, want - out.length) as Array<RawRow & { sort_key: number | string | null }>;
      for (const r of rows) out.push(keyedRow(r, r.sort_key));
    };
    const { fromKey, fromId, sameKey } = position;
    if (fromKey === undefined) {
      const sql = rowConditions(f, null, hostIndexed);
      sql.where.push(`(${key}) IS NOT NULL`);
      read(sql, `(${key}) ${dir}, id ${dir}`);
    } else if (fromKey !== null) {
      if (sameKey) {
        const sql = rowConditions(f, null, hostIndexed);
        sql.where.push(`(${key}) = ?`);
        sql.params.push(fromKey);
        if (fromId !== null) {
          sql.where.push(`id ${cmp} ?`);
          sql.params.push(fromId);
        }
        read(sql, `id ${dir}`);
      }
      const sql = rowConditions(f, null, hostIndexed);
      sql.where.push(`(${key}) ${cmp} ?`);
      sql.params.push(fromKey);
      read(sql, `(${key}) ${dir}, id ${dir}`);
    }
    // Missing values last, by id.
    if (fromKey !== null || sameKey) {
      const sql = rowConditions(f, null, hostIndexed);
      sql.where.push(`(${key}) IS NULL`);
      if (fromKey === null && fromId !== null) {
        sql.where.push(`id ${cmp} ?`);
        sql.params.push(fromId);
      }
      read(sql, `id ${dir}`);
    }
    return out;
  }

  /**
   * Index rows of a page by `status` or `host`: the key in order, and within a key received time,
   * then arrival, newest first for `asc` (rows without a time after the timed ones) and the very
   * reverse for `desc` (timeTie). Every part is a range of a time index read in order:
   * - `status`: one status after another in rank order, each host's range of the status in
   *   `episodes_by_host_status_time` (host, status, received time, row id), merged: the filter's
   *   hosts, or every host of the catalog for a rare status (a common one walks the time index,
   *   each row's status checked in it: statusHosts);
   * - `host`: one host after another in byte order (the filter's hosts, or the next host found
   *   in `episodes_by_host_status_time`), each host's statuses a range of that index (host,
   *   status, received time, row id) each, merged by the page's final sort; with a `q` matching
   *   few rows (`fewByQ`: read through the id and sha256 indexes) one query sorts the matches.
   * A `q` matching many rows is checked on each row of those ranges.
   */
  private groupedRows(
    f: EpisodeFilter,
    sort: EpisodeSort,
    position: SortedPosition,
    want: number,
  ): KeyedRow[] {
    const out: KeyedRow[] = [];
    const { fromKey, fromId, sameKey } = position;
    // The row the cursor names: its received time (which never changes for a row; its status
    // may, but the cursor carries the rank it was read under).
    const fromMs =
      fromId === null
        ? null
        : ((this.stmt('SELECT received_ms FROM episodes WHERE id = ?').pluck().get(fromId) as
            | number
            | null
            | undefined) ?? null);
    const asc = sort.order === 'asc';
    const read = (sql: Sql, order: string, key: string | number, limit: number): number => {
      if (limit <= 0) return 0;
      this.timeConditions(f, 'received_ms', sql);
      const rows = this.stmt(
        `SELECT ${EPISODE_COLUMNS} FROM ${episodesFor(sql)} ${where(sql)} ORDER BY ${order} LIMIT ?`,
      ).all(...sql.params, limit) as RawRow[];
      for (const r of rows) out.push(keyedRow(r, key));
      return rows.length;
    };
    /**
     * One key's rows under `base` after the position (`rest`: all of them), in the key's time
     * order (timeRunsAfter), up to `limit`.
     */
    const runs = (base: () => Sql, key: string | number, rest: boolean, limit: number): void => {
      let left = limit;
      // Not `rest` only at the cursor's own key, which the cursor's row (fromId) is of.
      const from = rest ? null : { ms: fromMs, arrival: fromId as number };
      for (const run of timeRunsAfter(sort.order, from, 'id')) {
        const sql = base();
        sql.where.push(run.where);
        sql.params.push(...run.params);
        left -= read(sql, run.order, key, left);
      }
    };
    // Does key `k` come at or after the cursor's, and with all its rows (`rest`)?
    const placed = (c: number): { skip: boolean; rest: boolean } => {
      if (fromKey === undefined) return { skip: false, rest: true };
      if (c < 0 || (c === 0 && !sameKey)) return { skip: true, rest: false };
      return { skip: false, rest: c > 0 || fromId === null };
    };
    // Neither key is ever missing: a cursor past the last key (null) has nothing after it.
    if (fromKey === null) return out;
    const sign = asc ? 1 : -1;
    // A `q` matching many rows is checked on each row of the key's ranges (as `page` reads it
    // along the time index): through its own indexes, every page would sort all its matches.
    const qIndexed = f.q === null || this.fewByQ(f.q);
    if (sort.sort === 'status') {
      const ranked = [...wantsRows(f)].sort((a, b) => sign * (STATUS_RANK[a] - STATUS_RANK[b]));
      for (const status of ranked) {
        const rank = STATUS_RANK[status];
        const { skip, rest } = placed(fromKey === undefined ? 1 : sign * (rank - (fromKey as number)));
        if (skip) continue;
        const need = want - out.length;
        const ranges = this.partitionHosts(f, [status], 'page');
        if (ranges !== null && !(f.q !== null && qIndexed)) {
          // Each host's rows of the status are a range of `episodes_by_host_status_time`, merged
          // by the page's sort: the filter's hosts, or every host of the catalog (all in one
          // statement).
          const { hosts } = ranges;
          if (ranges.together)
            runs(() => rowConditions(f, { hosts, status }, true, qIndexed), rank, rest, need);
          else
            for (const host of hosts)
              runs(() => rowConditions(f, { host, status }, true, qIndexed), rank, rest, need);
        } else {
          // A `q` matching few rows (through its indexes), or the time index walked (see
          // statusHosts): the status is checked on each row, `+host_id` a host filter too.
          runs(() => rowConditions(f, { status }, false, qIndexed), rank, rest, need);
        }
        if (out.length >= want) break;
      }
      return out;
    }
    if (f.q !== null && qIndexed) {
      this.hostRowsByQ(f, sort, position, fromMs, want, out);
      return out;
    }
    const statuses = wantsRows(f);
    for (let host = this.firstHost(f, sort.order, fromKey, sameKey); host !== null; ) {
      const c = fromKey === undefined ? 1 : sign * compareKey(host, fromKey);
      const { skip, rest } = placed(c);
      if (!skip) {
        // Each status's rows of this host are read up to what the page still needs; the page's
        // sort merges them by time (timeTie) and cuts it to length.
        const need = want - out.length;
        const h = host;
        for (const status of statuses)
          runs(() => rowConditions(f, { host: h, status }, true, qIndexed), h, rest, need);
        if (out.length >= want) break;
      }
      host = this.nextHost(f, sort.order, host);
    }
    return out;
  }

  /**
   * The first host a `sort=host` page can read: the cursor's when rows of it may follow (and it is
   * one the filter names), else the one after it, else the first of all.
   */
  private firstHost(
    f: EpisodeFilter,
    order: 'asc' | 'desc',
    fromKey: number | string | undefined,
    sameKey: boolean,
  ): string | null {
    if (typeof fromKey !== 'string') return this.nextHost(f, order, null);
    // (A cursor replayed under another host filter may name a host outside it.)
    const ofFilter = f.hosts.length === 0 || f.hosts.includes(fromKey);
    return sameKey && ofFilter ? fromKey : this.nextHost(f, order, fromKey);
  }

  /** The host after `host` (null: the first) in byte order (`order`): the filter's, or the catalog's. */
  private nextHost(f: EpisodeFilter, order: 'asc' | 'desc', host: string | null): string | null {
    const sign = order === 'asc' ? 1 : -1;
    if (f.hosts.length > 0) {
      let best: string | null = null;
      for (const h of f.hosts) {
        if (host !== null && sign * compareKey(h, host) <= 0) continue;
        if (best === null || sign * compareKey(h, best) < 0) best = h;
      }
      return best;
    }
    return this.nextCatalogHost(order, host);
  }

  /**
   * The catalog's host after `host` (null: the first) in byte order (`order`): one seek into
   * `episodes_by_host_status_time` (its leading column), not a scan of hosts.
   */
  private nextCatalogHost(order: 'asc' | 'desc', host: string | null): string | null {
    const dir = order === 'asc' ? 'ASC' : 'DESC';
    const sql =
      host === null
        ? `SELECT host_id FROM episodes ORDER BY host_id ${dir} LIMIT 1`
        : `SELECT host_id FROM episodes WHERE host_id ${order === 'asc' ? '>' : '<'} ? ORDER BY host_id ${dir} LIMIT 1`;
    const next = this.stmt(sql)
      .pluck()
      .get(...(host === null ? [] : [host])) as string | undefined;
    return next ?? null;
  }

  /**
   * `sort=host` with a `q` matching few rows (`fewByQ`): the matches, read through the id and
   * sha256 indexes, in one query sorted by host then timeTie, after the cursor.
   */
  private hostRowsByQ(
    f: EpisodeFilter,
    sort: EpisodeSort,
    position: SortedPosition,
    fromMs: number | null,
    want: number,
    out: KeyedRow[],
  ): void {
    const { fromKey, fromId, sameKey } = position;
    const asc = sort.order === 'asc';
    const dir = asc ? 'ASC' : 'DESC';
    const tie = asc ? 'DESC' : 'ASC';
    const cmp = asc ? '>' : '<';
    const after = asc ? '<' : '>';
    const sql = rowConditions(f, null, false);
    this.timeConditions(f, 'received_ms', sql);
    if (typeof fromKey === 'string') {
      if (!sameKey) {
        sql.where.push(`host_id ${cmp} ?`);
        sql.params.push(fromKey);
      } else if (fromId === null) {
        sql.where.push(`host_id ${cmp}= ?`);
        sql.params.push(fromKey);
      } else {
        // Within the cursor's host: the rows after its row in timeTie.
        const within =
          fromMs === null
            ? `(received_ms IS NULL AND id ${after} ?)${asc ? '' : ' OR received_ms IS NOT NULL'}`
            : `received_ms ${after} ? OR (received_ms = ? AND id ${after} ?)${asc ? ' OR received_ms IS NULL' : ''}`;
        sql.where.push(`(host_id ${cmp} ? OR (host_id = ? AND (${within})))`);
        sql.params.push(fromKey, fromKey, ...(fromMs === null ? [fromId] : [fromMs, fromMs, fromId]));
      }
    }
    const rows = this.stmt(
      `SELECT ${EPISODE_COLUMNS} FROM episodes ${where(sql)}
       ORDER BY host_id ${dir}, received_ms IS NULL ${asc ? 'ASC' : 'DESC'}, received_ms ${tie}, id ${tie} LIMIT ?`,
    ).all(...sql.params, want) as RawRow[];
    for (const r of rows) out.push(keyedRow(r, r.host_id));
  }

  /** Counts per host and per status under the filter. */
  facets(filter: EpisodeFilter): {
    host: Record<string, number>;
    status: Partial<Record<EpisodeStatus, number>>;
  } {
    const f = distinct(filter);
    return this.remember(`facets ${JSON.stringify(f)}`, () => this.facetsNow(f));
  }

  /**
   * Episodes under the filter by phase (once under each phase its labels hold) and how many have
   * no known phase (see READ_LABELS). Reads every row under the filter and its cache entry: one
   * pass, kept until the catalog or the cache changes.
   */
  phaseFacets(filter: EpisodeFilter): { phase: Record<string, number>; phase_unknown: number } {
    const f = distinct(filter);
    return this.remember(`phases ${JSON.stringify(f)}`, () => {
      // Phase names come from the labels: no prototype (a phase named `constructor` is a key).
      const phase = dict<number>();
      let known = 0;
      const count = (scope: string, sql: Sql): void => {
        const rows = this.stmt(
          `SELECT j.key AS phase, count(*) AS n FROM ${READ_LABELS}, json_each(pc.counts) j
           WHERE ${scope} GROUP BY j.key`,
        ).all(...sql.params) as Array<{ phase: string; n: number }>;
        for (const r of rows) phase[r.phase] = (phase[r.phase] ?? 0) + r.n;
        known += this.stmt(`SELECT count(*) FROM ${READ_LABELS} WHERE ${scope}`)
          .pluck()
          .get(...sql.params) as number;
      };
      if (wantsRows(f).length > 0) {
        const sql = rowConditions(f, null);
        this.timeConditions(f, 'received_ms', sql);
        count(`d.episode_row IN (SELECT id FROM episodes ${where(sql)})`, sql);
      }
      if (wantsFiles(f)) {
        const sql = this.fileConditions(f);
        count(`d.rowid IN (SELECT rowid FROM disk_files ${where(sql)})`, sql);
      }
      return { phase, phase_unknown: Math.max(0, this.total(f) - known) };
    });
  }

  private facetsNow(f: EpisodeFilter): {
    host: Record<string, number>;
    status: Partial<Record<EpisodeStatus, number>>;
  } {
    // Keyed by host ids from the data: no prototype (a host named `constructor` is a key).
    const host = dict<number>();
    const status: Partial<Record<EpisodeStatus, number>> = {};
    for (const g of this.groups(f)) {
      host[g.host_id] = (host[g.host_id] ?? 0) + g.n;
      status[g.status] = (status[g.status] ?? 0) + g.n;
    }
    return { host, status };
  }

  /** Rows matching the filter, all pages. */
  total(filter: EpisodeFilter): number {
    const f = distinct(filter);
    return this.remember(`total ${JSON.stringify(f)}`, () => this.totalNow(f));
  }

  private totalNow(f: EpisodeFilter): number {
    if (onlyHostStatus(f)) {
      let n = 0;
      for (const g of this.groups(f)) n += g.n;
      return n;
    }
    let n = 0;
    // Per partition: a status without a host filter is each host's range (no index on the status
    // alone).
    for (const part of this.partitions(f, 'count')) n += this.countRows(f, part);
    if (wantsFiles(f)) {
      const sql = this.fileConditions(f);
      n += this.stmt(`SELECT count(*) FROM disk_files ${where(sql)}`)
        .pluck()
        .get(...sql.params) as number;
    }
    return n;
  }

  /** Counts by host and status: from the maintained counts when only host/status filter, else a GROUP BY. */
  private groups(f: EpisodeFilter): Array<{ host_id: string; status: EpisodeStatus; n: number }> {
    const out: Array<{ host_id: string; status: EpisodeStatus; n: number }> = [];
    const statuses = wantsRows(f);
    if (statuses.length > 0) {
      if (onlyHostStatus(f)) {
        const hostSql: Sql = { where: [], params: [] };
        if (f.hosts.length > 0) inList('host_id', f.hosts, hostSql);
        // One snapshot for both: the verifier may commit between two statements.
        const groups = this.db.transaction(() => [
          ...(this.stmt(`SELECT host_id, status, n FROM episode_counts ${where(hostSql)}`).all(
            ...hostSql.params,
          ) as Array<{ host_id: string; status: EpisodeStatus; n: number }>),
          // Rows the verifier has not classified yet are 'unverified' (the column's default).
          ...pendingByHost(this.stmt(PENDING_SQL), f.hosts),
        ])();
        for (const g of groups) if (g.n !== 0 && statuses.includes(g.status)) out.push(g);
      } else {
        const ranged = this.countsByRanges(f);
        const parts = ranged === null ? this.partitions(f, 'count') : [];
        const first = parts[0];
        if (ranged !== null) {
          for (const g of ranged) if (g.n !== 0) out.push(g);
        } else if (first === null || first === undefined || 'hosts' in first) {
          const sql = rowConditions(f, first ?? null);
          this.timeConditions(f, 'received_ms', sql);
          if (!first) this.countIndex(f, sql);
          // The filter whole: `+` groups with a temp tree (grouping along the host index would
          // visit every row). Every host's ranges in one statement: along the host index, which
          // holds only the statuses' rows.
          const group = first ? 'host_id, status' : '+host_id, +status';
          out.push(
            ...(this.stmt(
              `SELECT host_id, status, count(*) AS n FROM ${episodesFor(sql)} ${where(sql)} GROUP BY ${group}`,
            ).all(...sql.params) as Array<{ host_id: string; status: EpisodeStatus; n: number }>),
          );
        } else {
          // Each host and status a range of its index, counted.
          for (const part of parts) {
            const n = this.countRows(f, part);
            if (part !== null && 'host' in part && n > 0)
              out.push({ host_id: part.host, status: part.status as EpisodeStatus, n });
          }
        }
      }
    }
    if (wantsFiles(f)) {
      const sql = this.fileConditions(f);
      out.push(
        ...(this.stmt(
          `SELECT host_id, 'unindexed' AS status, count(*) AS n FROM disk_files ${where(sql)} GROUP BY host_id`,
        ).all(...sql.params) as Array<{ host_id: string; status: EpisodeStatus; n: number }>),
      );
    }
    return out;
  }

  /**
   * Whether the catalog has index `name` (in this snapshot): a cold bulk load drops the secondary
   * indexes while its rows go in, and a query naming one (`INDEXED BY`) would fail.
   */
  private hasIndex(name: string): boolean {
    return this.remember(
      `index ${name}`,
      () =>
        this.stmt("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) !== undefined,
    );
  }

  /** Index rows under the filter in one partition (null: all of them). */
  private countRows(f: EpisodeFilter, part: Partition): number {
    const sql = rowConditions(f, part);
    this.timeConditions(f, 'received_ms', sql);
    if (part === null) this.countIndex(f, sql);
    return this.stmt(`SELECT count(*) FROM ${episodesFor(sql)} ${where(sql)}`)
      .pluck()
      .get(...sql.params) as number;
  }

  /**
   * The index a count (or a count by host and status) of the whole filter reads: with a status and
   * a size filter matching many rows (not `fewBySize`), no host filter, and nothing else read from
   * the rows, the time index (when there: a cold load builds it after its rows), which holds host,
   * status and size: SQLite otherwise took the size index's range
   * and read each row in it for its status (`status=missing&min_size=…` at 1M rows: 1.7 s).
   * Named in `sql` (its `index`), which holds the whole filter's conditions.
   */
  private countIndex(f: EpisodeFilter, sql: Sql): void {
    const sized = f.minSize !== null || f.maxSize !== null;
    if (!sized || f.q !== null || f.phases.length > 0 || f.hosts.length > 0) return;
    if (wantsRows(f).length === ROW_STATUSES.length || !this.hasIndex('episodes_by_time')) return;
    if (!this.fewBySize(f)) sql.index = 'episodes_by_time';
  }

  private timeConditions(f: EpisodeFilter, column: string, sql: Sql): void {
    if (f.fromMs !== null) {
      sql.where.push(`${column} >= ?`);
      sql.params.push(f.fromMs);
    }
    if (f.toMs !== null) {
      sql.where.push(`${column} <= ?`);
      sql.params.push(f.toMs);
    }
  }

  /**
   * True when a size filter matches few rows: they are then read through the size index and
   * sorted (a few thousand at most), instead of scanning the whole time index for a page of rare
   * matches (250 ms at 1M rows for `max_size` with none). Counted through the covering size
   * index, up to the limit only.
   */
  private fewBySize(f: EpisodeFilter): boolean {
    if (f.minSize === null && f.maxSize === null) return false;
    // `INDEXED BY` fails on a missing index: a cold load drops it until its rows are in (and a
    // catalog from before the size index has none until the writer's start).
    if (!this.hasIndex('episodes_by_size')) return false;
    // Asked by the page's path, its count's and its rows' (up to four times a page): counted once.
    return this.remember(`fewBySize ${f.minSize} ${f.maxSize}`, () => {
      const sql: Sql = { where: [], params: [] };
      sizeConditions(f, 'size_bytes', sql);
      const n = this.stmt(`SELECT count(*) FROM (SELECT 1 FROM episodes ${where(sql)} LIMIT ?)`)
        .pluck()
        .get(...sql.params, FEW_BY_SIZE + 1) as number;
      return n <= FEW_BY_SIZE;
    });
  }

  /**
   * True when the filter names hosts whose rows are few (FEW_BY_HOSTS, from the maintained
   * counts: a choice of path only) and nothing else is read through an index of its own (`q`).
   */
  private fewByHosts(f: EpisodeFilter): boolean {
    if (f.hosts.length === 0 || f.q !== null || !this.hasIndex('episodes_by_host_status_time')) return false;
    const counts = this.facets({ ...NO_FILTER, hosts: f.hosts, statuses: ROW_STATUSES }).host;
    let rows = 0;
    for (const n of Object.values(counts)) rows += n;
    return rows <= FEW_BY_HOSTS;
  }

  /** True when `q` matches few enough rows to be read through its indexes and sorted. */
  private fewByQ(q: string): boolean {
    return this.remember(`fewByQ ${q}`, () => {
      const sql: Sql = { where: [], params: [] };
      qCondition(q, sql);
      const n = this.stmt(`SELECT count(*) FROM (SELECT 1 FROM episodes ${where(sql)} LIMIT ?)`)
        .pluck()
        .get(...sql.params, FEW_BY_Q + 1) as number;
      return n <= FEW_BY_Q;
    });
  }

  private rowsIn(f: EpisodeFilter, part: Partition, cursor: EpisodeCursor | null, want: number): SortedRow[] {
    // A `q` matching few rows reads them through its indexes and sorts them; one matching many
    // reads the time index in page order and checks each row (a 1-digit sha prefix: 1 row in 16).
    const qIndexed = f.q === null || this.fewByQ(f.q);
    // Many matches: the time index is the only one to read (a host index would be walked whole).
    const base = rowConditions(f, part, f.q === null, qIndexed);
    const out: SortedRow[] = [];
    const timed = afterCursor(cursor, INDEXED, true, 'received_ms', 'id');
    if (timed) {
      // The lower bound doubles as "has a received time" and keeps the scan on the time index.
      const bound = merge(timed, { where: ['received_ms >= ?'], params: [f.fromMs ?? MIN_MS] });
      if (f.toMs !== null) {
        bound.where.push('received_ms <= ?');
        bound.params.push(f.toMs);
      }
      const order = 'ORDER BY received_ms DESC, id DESC LIMIT ?';
      let rows: RawRow[];
      if (f.q !== null && qIndexed) {
        // Each range of `q` gives the ids of its newest rows through its own index (the sha index
        // holds time and host: no row is read for that), and only those rows are read: a 2-digit
        // sha prefix matches ≈ 3,900 rows at 1M, and reading each to sort them took 40–90 ms.
        const rest = rowConditions({ ...f, q: null }, part, false);
        const arms = qArms(f.q).map((arm) => merge(merge(rest, arm), bound));
        const ids = arms
          .map((a) => `SELECT id FROM (SELECT id FROM episodes ${where(a)} ${order})`)
          .join(' UNION ALL ');
        rows = this.stmt(`SELECT ${EPISODE_COLUMNS} FROM episodes WHERE id IN (${ids}) ${order}`).all(
          ...arms.flatMap((a) => [...a.params, want]),
          want,
        ) as RawRow[];
      } else {
        const sql = merge(base, bound);
        if (sql.index === undefined && this.fewBySize(f)) sql.index = 'episodes_by_size';
        rows = this.stmt(`SELECT ${EPISODE_COLUMNS} FROM ${episodesFor(sql)} ${where(sql)} ${order}`).all(
          ...sql.params,
          want,
        ) as RawRow[];
      }
      out.push(...rows.map(rowItem));
    }
    // Rows without a received time come last and never match a time range.
    if (out.length < want && f.fromMs === null && f.toMs === null) {
      const untimed = afterCursor(cursor, INDEXED, false, 'received_ms', 'id');
      if (untimed) {
        const sql = merge(base, untimed);
        sql.where.push('received_ms IS NULL');
        const rows = this.stmt(
          `SELECT ${EPISODE_COLUMNS} FROM ${episodesFor(sql)} ${where(sql)} ORDER BY id DESC LIMIT ?`,
        ).all(...sql.params, want - out.length) as RawRow[];
        out.push(...rows.map(rowItem));
      }
    }
    return out;
  }

  private fileConditions(f: EpisodeFilter): Sql {
    const sql: Sql = { where: ['episode_row IS NULL'], params: [] };
    if (f.hosts.length > 0) inList('host_id', f.hosts, sql);
    sizeConditions(f, 'size', sql);
    this.timeConditions(f, 'mtime_ms', sql);
    if (f.q !== null) {
      sql.where.push('episode_id >= ? AND episode_id < ?');
      sql.params.push(f.q, prefixEnd(f.q));
    }
    filePhaseCondition(f.phases, sql);
    return sql;
  }

  private filesIn(f: EpisodeFilter, cursor: EpisodeCursor | null, want: number): SortedRow[] {
    const bound = afterCursor(cursor, FILE, true, 'mtime_ms', 'rowid');
    if (!bound) return [];
    const sql = merge(this.fileConditions(f), bound);
    return (
      this.stmt(
        `SELECT rowid AS id, rel_path, host_id, episode_id, size, mtime_ms FROM disk_files ${where(sql)}
         ORDER BY mtime_ms DESC, rowid DESC LIMIT ?`,
      ).all(...sql.params, want) as FileRawRow[]
    ).map(fileItem);
  }

  /** The catalog's record of one episode id: its index row, else an unindexed file of that name. */
  find(episodeId: string): { item: EpisodeListItem; indexed: boolean } | null {
    const row = this.stmt(`SELECT ${EPISODE_COLUMNS} FROM episodes WHERE episode_id = ?`).get(episodeId) as
      | RawRow
      | undefined;
    if (row) return { item: rowItem(row).item, indexed: true };
    const file = this.stmt(
      `SELECT rowid AS id, rel_path, host_id, episode_id, size, mtime_ms FROM disk_files
       WHERE episode_id = ? AND episode_row IS NULL ORDER BY rowid LIMIT 1`,
    ).get(episodeId) as FileRawRow | undefined;
    if (!file) return null;
    return { item: fileItem(file).item, indexed: false };
  }
}

/**
 * Index rows the verifier has not classified yet, per host: every row a host has (its running
 * total, kept by the writer in the same transaction as the rows) less those counted up to the
 * watermark. One small statement (a consistent snapshot), never a walk over the rows past the
 * watermark — a million of them after a cold start, before the verifier has begun.
 */
export const PENDING_SQL = `SELECT host_id, n FROM (
  SELECT t.host_id, t.episodes - coalesce((SELECT sum(c.n) FROM episode_counts c WHERE c.host_id = t.host_id), 0) AS n
  FROM host_totals t) WHERE n > 0`;

/** Index rows the verifier has not classified yet ('unverified'), per host (of `hosts`, when given). */
export function pendingByHost(
  stmt: Database.Statement<unknown[]>,
  hosts: readonly string[] = [],
): Array<{ host_id: string; status: EpisodeStatus; n: number }> {
  const out: Array<{ host_id: string; status: EpisodeStatus; n: number }> = [];
  for (const r of stmt.all() as Array<{ host_id: string; n: number }>) {
    if (hosts.length === 0 || hosts.includes(r.host_id))
      out.push({ host_id: r.host_id, status: 'unverified', n: r.n });
  }
  return out;
}

function merge(a: Sql, b: Sql): Sql {
  const out: Sql = { where: [...a.where, ...b.where], params: [...a.params, ...b.params] };
  const index = a.index ?? b.index;
  if (index !== undefined) out.index = index;
  return out;
}

function where(sql: Sql): string {
  return sql.where.length > 0 ? `WHERE ${sql.where.join(' AND ')}` : '';
}

/**
 * A page in another order than the default (`sort`/`order`): position after the last row is
 * [sort value or null, source, row id]; the route tags it with the order it belongs to.
 */
export type SortedCursor = readonly [number | string | null, 0 | 1, number];

interface KeyedRow {
  key: number | string | null;
  src: 0 | 1;
  id: number;
  /** An index row's received time (timeTie orders a key's rows by it). */
  ms: number | null;
  item: EpisodeListItem;
}

function keyedRow(r: RawRow, key: number | string | null): KeyedRow {
  return { key, src: INDEXED, id: r.id, ms: r.received_ms, item: rowItem(r).item };
}

/**
 * Where a sorted page's cursor leaves off among index rows: its key (undefined: before every
 * row), whether rows of that very key still follow it (`sameKey`), and from which row id
 * (`fromId`; null: all of them).
 */
interface SortedPosition {
  fromKey: number | string | null | undefined;
  fromId: number | null;
  sameKey: boolean;
}

function sortedPosition(order: 'asc' | 'desc', cursor: SortedCursor | null): SortedPosition {
  if (cursor === null) return { fromKey: undefined, fromId: null, sameKey: true };
  const [ck, cs, cid] = cursor;
  // Within one key, index rows come after files when ascending, before them when descending.
  if (cs === INDEXED) return { fromKey: ck, fromId: cid, sameKey: true };
  return { fromKey: ck, fromId: null, sameKey: order === 'asc' ? INDEXED > cs : INDEXED < cs };
}

/**
 * Index rows of one key under `sort=status` and `sort=host`, for `asc`: newest received time
 * first, rows without one after them, then latest arrival first; `desc` is the very reverse.
 */
function timeTie(a: KeyedRow, b: KeyedRow): number {
  if (a.ms !== b.ms) {
    if (a.ms === null) return 1;
    if (b.ms === null) return -1;
    return b.ms - a.ms;
  }
  return b.id - a.id;
}

/** The SQL expression of a sort key for index rows and for unindexed files. */
function sortColumns(sort: EpisodeSortKey): { row: string; file: string } {
  switch (sort) {
    case 'received':
      return { row: 'received_ms', file: 'mtime_ms' };
    case 'size':
      return { row: 'size_bytes', file: 'size' };
    case 'host':
      return { row: 'host_id', file: 'host_id' };
    case 'status':
      return {
        row: `CASE status ${Object.entries(STATUS_RANK)
          .map(([s, r]) => `WHEN '${s}' THEN ${r}`)
          .join(' ')} END`,
        // Not a bare number: SQLite reads `ORDER BY 2` as the second column.
        file: `CAST(${STATUS_RANK.unindexed} AS INTEGER)`,
      };
  }
}

/** SQLite's BINARY order: numbers before text, text by UTF-8 bytes. */
function compareKey(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Order of a sorted page: key in `order` (missing last), then source in the same direction, then
 * within a source: `id` the id in that direction too; `time` index rows by timeTie (files, which
 * have no received time, still by id).
 */
function compareSorted(order: 'asc' | 'desc', tie: 'id' | 'time'): (a: KeyedRow, b: KeyedRow) => number {
  const dir = order === 'asc' ? 1 : -1;
  return (a, b) => {
    if (a.key === null || b.key === null) {
      if (a.key !== b.key) return a.key === null ? 1 : -1;
    } else {
      const c = compareKey(a.key, b.key);
      if (c !== 0) return dir * c;
    }
    if (a.src !== b.src) return dir * (a.src - b.src);
    return dir * (tie === 'time' && a.src === INDEXED ? timeTie(a, b) : a.id - b.id);
  };
}

/**
 * Rows of source `src` after `cursor` in the sorted order over `key`/`idCol`, or null when none
 * can follow it.
 */
function afterSortedCursor(
  cursor: SortedCursor | null,
  order: 'asc' | 'desc',
  src: 0 | 1,
  key: string,
  idCol: string,
): Sql | null {
  const sql: Sql = { where: [], params: [] };
  if (cursor === null) return sql;
  const [ck, cs, cid] = cursor;
  const cmp = order === 'asc' ? '>' : '<';
  // Within one key: does this source come after the cursor's, the same, or before?
  const srcAfter = order === 'asc' ? src > cs : src < cs;
  const tie = src === cs ? `${idCol} ${cmp} ?` : srcAfter ? '1' : '0';
  const tieParams = src === cs ? [cid] : [];
  if (ck === null) {
    if (src !== cs && !srcAfter) return null;
    sql.where.push(`(${key}) IS NULL AND ${tie}`);
    sql.params.push(...tieParams);
    return sql;
  }
  sql.where.push(`((${key}) IS NULL OR (${key}) ${cmp} ? OR ((${key}) = ? AND ${tie}))`);
  sql.params.push(ck, ck, ...tieParams);
  return sql;
}
