/**
 * The explorer filter, one rule for the server (`GET /api/episodes`, its facets and exports) and the
 * web app (live rows before the catalog answers, and checking input before asking):
 * - `host` (repeatable): any of these hosts;
 * - `q`: an episode id prefix, case-sensitive (ids are), or a sha256 prefix, in either case
 *   (lowercased, then matched against the sha256 as the index wrote it: lowercase hex, as a
 *   digest is written), at most 128 characters;
 * - `from`, `to`: ISO-8601 or epoch seconds, BOTH INCLUSIVE (`from <= received_at <= to`); a
 *   record without a received time matches no time bound;
 * - `min_size`, `max_size`: whole bytes, both inclusive; a record without a size matches no bound;
 * - `status` (repeatable): any of these integrity statuses; a live record whose status the catalog
 *   has not given yet matches no status filter;
 * - `phase` (repeatable): episodes whose `labels.jsonl` holds any of these phases. Only an episode
 *   whose tarball has been read (the phase mix's label cache, for the file as it is now on disk)
 *   has known phases: one not read yet, missing, or unreadable matches no phase filter (the facets
 *   count it as `phase_unknown`), and so does a live record.
 */
import { timestampMs } from '../util/time.js';
import { EPISODE_STATUSES, type EpisodeStatus } from './api.js';

export interface EpisodeFilter {
  hosts: readonly string[];
  /** Episode id prefix or sha256 prefix. */
  q: string | null;
  fromMs: number | null;
  toMs: number | null;
  minSize: number | null;
  maxSize: number | null;
  statuses: readonly EpisodeStatus[];
  phases: readonly string[];
}

export const NO_FILTER: EpisodeFilter = {
  hosts: [],
  q: null,
  fromMs: null,
  toMs: null,
  minSize: null,
  maxSize: null,
  statuses: [],
  phases: [],
};

export const FILTER_PARAMS = ['host', 'q', 'from', 'to', 'min_size', 'max_size', 'status', 'phase'] as const;
export const MAX_Q = 128;
/** At most this many phases in one filter, each at most MAX_Q characters. */
export const MAX_PHASES = 64;

/** What the parser reads: URLSearchParams in the browser, Fastify's query on the server. */
export interface FilterParams {
  /** Every value of a repeatable key (comma-separated values split). */
  all(key: string): string[];
  /** The one value of a key, undefined when absent or empty; throws when repeated (server). */
  one(key: string): string | undefined;
}

/** A filter that cannot be applied, with the sentence saying why (the 400 message). */
export class FilterError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

function time(p: FilterParams, key: string): number | null {
  const v = p.one(key);
  if (v === undefined) return null;
  const ms = timestampMs(v);
  if (ms === null)
    throw new FilterError(key, `query parameter '${key}' must be ISO-8601 or epoch seconds, got '${v}'`);
  return ms;
}

function bytes(p: FilterParams, key: string): number | null {
  const v = p.one(key);
  if (v === undefined) return null;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new FilterError(key, `query parameter '${key}' must be a whole number of bytes, got '${v}'`);
  }
  return Number(v);
}

/** Parses and checks a filter; throws FilterError naming the parameter and what is wrong. */
export function parseEpisodeFilter(p: FilterParams): EpisodeFilter {
  const statuses = p.all('status');
  for (const s of statuses) {
    if (!(EPISODE_STATUSES as readonly string[]).includes(s)) {
      throw new FilterError(
        'status',
        `query parameter 'status' must be one of ${EPISODE_STATUSES.join(', ')}, got '${s}'`,
      );
    }
  }
  // ASCII whitespace only: String#trim also strips U+2028, U+FEFF, NBSP…, and a q of only those
  // became no filter at all (matching everything) instead of a prefix that matches nothing.
  const q = p.one('q')?.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '') || null;
  if (q !== null && q.length > MAX_Q)
    throw new FilterError('q', `query parameter 'q' must be at most ${MAX_Q} characters`);
  const phases = [...new Set(p.all('phase'))];
  if (phases.length > MAX_PHASES)
    throw new FilterError('phase', `query parameter 'phase' takes at most ${MAX_PHASES} phases`);
  for (const ph of phases) {
    if (ph.length > MAX_Q)
      throw new FilterError('phase', `query parameter 'phase' must be at most ${MAX_Q} characters`);
  }
  const filter: EpisodeFilter = {
    // Each host and status once: a repeat (`host=a&host=a`) would read and count its rows twice.
    hosts: [...new Set(p.all('host'))],
    q,
    fromMs: time(p, 'from'),
    toMs: time(p, 'to'),
    minSize: bytes(p, 'min_size'),
    maxSize: bytes(p, 'max_size'),
    statuses: [...new Set(statuses)] as EpisodeStatus[],
    phases,
  };
  if (filter.fromMs !== null && filter.toMs !== null && filter.fromMs > filter.toMs) {
    throw new FilterError('from', "query parameter 'from' is after 'to'");
  }
  if (filter.minSize !== null && filter.maxSize !== null && filter.minSize > filter.maxSize) {
    throw new FilterError('min_size', "query parameter 'min_size' is larger than 'max_size'");
  }
  return filter;
}

/**
 * A sha256 as the catalog stores and matches it: a hex one lowercased (a receiver may write its
 * digest in capitals), anything else as written.
 */
export function catalogSha256(sha: string): string {
  // toLowerCase gives an already lowercase string back as it is (no copy): a quicker test for
  // capitals than a regex, on the catalog writer's path (a million digests a 1M-line load;
  // ≈ 27 vs 42 ns a 64-digit digest in a microbench).
  const lower = sha.toLowerCase();
  return lower === sha || !/^[0-9a-fA-F]+$/.test(sha) ? sha : lower;
}

/** True when `q` may be a sha256 prefix (hex, at most 64 digits). */
export function isShaPrefix(q: string): boolean {
  return /^[0-9a-f]{1,64}$/i.test(q);
}

/**
 * A `host=` value against a record: its host id; on a replica also `<receiver>/<host>`, that
 * receiver's host (a bare host is every receiver's), as the replica's catalog reads it.
 */
function hostMatches(ep: { host_id: string; receiver?: string }, host: string): boolean {
  if (ep.host_id === host) return true;
  if (ep.receiver === undefined) return false;
  const slash = host.indexOf('/');
  return slash > 0 && host.slice(0, slash) === ep.receiver && host.slice(slash + 1) === ep.host_id;
}

/** Whether one record falls under the filter, by exactly the rule the catalog's SQL applies. */
export function matchesEpisodeFilter(
  ep: {
    episode_id: string;
    host_id: string;
    sha256: string | null;
    size_bytes: number | null;
    received_at: string | null;
    status?: EpisodeStatus;
    /** Scale-out: the receiver the record came from. */
    receiver?: string;
  },
  f: EpisodeFilter,
): boolean {
  if (f.statuses.length > 0 && (ep.status === undefined || !f.statuses.includes(ep.status))) return false;
  // A record alone does not say its phases (its tarball's labels do): it matches no phase filter.
  if (f.phases.length > 0) return false;
  if (f.hosts.length > 0 && !f.hosts.some((host) => hostMatches(ep, host))) return false;
  if (f.q !== null) {
    // The catalog's rule: `q` lowercased against the sha256 as the catalog stores it (a hex one
    // lowercased: `catalogSha256`), so a digest written in capitals is found here as there.
    const sha = isShaPrefix(f.q) && catalogSha256(ep.sha256 ?? '').startsWith(f.q.toLowerCase());
    if (!ep.episode_id.startsWith(f.q) && !sha) return false;
  }
  if (f.fromMs !== null || f.toMs !== null) {
    const t = ep.received_at === null ? Number.NaN : Date.parse(ep.received_at);
    if (Number.isNaN(t)) return false;
    if (f.fromMs !== null && t < f.fromMs) return false;
    if (f.toMs !== null && t > f.toMs) return false;
  }
  if (f.minSize !== null || f.maxSize !== null) {
    if (ep.size_bytes === null) return false;
    if (f.minSize !== null && ep.size_bytes < f.minSize) return false;
    if (f.maxSize !== null && ep.size_bytes > f.maxSize) return false;
  }
  return true;
}

/**
 * The explorer's row order (`sort`, `order` on `GET /api/episodes` and in the page URL):
 * - `received` (default, `desc`): received time, an unindexed file by its modification time;
 * - `size`: bytes;
 * - `host`: host id (byte order);
 * - `status`: by severity, `corrupt`, `missing`, `unindexed`, `unverified`, `ok` (`asc` = worst first).
 * A record without the value (no received time, no size) comes last in either order. Ties go by
 * arrival, in the same direction; under `host` and `status` by received time, then arrival:
 * newest first with `asc` (a record without a time after the timed ones of its key; under `host`,
 * a host's unindexed files before its index lines, in the order they were found), and `desc` is
 * that list reversed.
 */
export const EPISODE_SORTS = ['received', 'size', 'host', 'status'] as const;
export type EpisodeSortKey = (typeof EPISODE_SORTS)[number];
export interface EpisodeSort {
  sort: EpisodeSortKey;
  order: 'asc' | 'desc';
}
export const DEFAULT_SORT: EpisodeSort = { sort: 'received', order: 'desc' };
export const SORT_PARAMS = ['sort', 'order'] as const;
/** The order a column takes on its first click: newest/largest first, hosts A→Z, worst status first. */
export const FIRST_ORDER: Record<EpisodeSortKey, 'asc' | 'desc'> = {
  received: 'desc',
  size: 'desc',
  host: 'asc',
  status: 'asc',
};
/** Severity rank of a status for `sort=status` (lower is worse). */
export const STATUS_RANK: Record<EpisodeStatus, number> = {
  corrupt: 0,
  missing: 1,
  unindexed: 2,
  unverified: 3,
  ok: 4,
};

/** Parses `sort` and `order`; throws FilterError naming the parameter. */
export function parseEpisodeSort(p: FilterParams): EpisodeSort {
  const sort = p.one('sort') ?? DEFAULT_SORT.sort;
  if (!(EPISODE_SORTS as readonly string[]).includes(sort)) {
    throw new FilterError(
      'sort',
      `query parameter 'sort' must be one of ${EPISODE_SORTS.join(', ')}, got '${sort}'`,
    );
  }
  const key = sort as EpisodeSortKey;
  const order = p.one('order') ?? FIRST_ORDER[key];
  if (order !== 'asc' && order !== 'desc') {
    throw new FilterError('order', `query parameter 'order' must be asc or desc, got '${order}'`);
  }
  return { sort: key, order };
}

export function isDefaultSort(s: EpisodeSort): boolean {
  return s.sort === DEFAULT_SORT.sort && s.order === DEFAULT_SORT.order;
}
