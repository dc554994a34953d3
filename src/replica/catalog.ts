import { type Db, openDatabase } from '../catalog/db.js';
import { hostsWhere } from '../catalog/hosts-where.js';
import { alertFromRow, alertRow } from '../catalog/ingest-store.js';
import { lowercaseStoredSha256 } from '../catalog/schema.js';
import { timeRunsAfter } from '../catalog/time-runs.js';
import type { AlertGroup, EpisodeFacets, EpisodeListItem } from '../protocol/api.js';
import {
  catalogSha256,
  type EpisodeFilter,
  type EpisodeSort,
  type EpisodeSortKey,
} from '../protocol/episode-filter.js';
import type { AlertRecord, DashboardEvent, DashboardState, EpisodeRecord } from '../protocol/index.js';
import { timestampMs } from '../util/time.js';

/**
 * A replica's own catalog (`serve --redis`): the explorer's episodes and the alerts of every
 * receiver, as applied from the shared stream, with the stream position `(epoch, seq)` they are
 * exact at, written in the same SQLite transaction as the rows. A restart resumes after that seq;
 * a stream of another epoch, or a position the stream has trimmed, means rebuilding.
 *
 * It lives in the standard catalog file (so `/api/alerts` reads its alerts as on one box); the
 * episodes are in `replica_episodes`, one row per (receiver, episode_id): two receivers may hold
 * the same id, and a record applied twice (a re-sent line) is one row.
 */
export interface ReplicaPosition {
  epoch: string;
  seq: number;
}

/**
 * One page's position: [the sort key's value (null when the row has none, and always null for
 * `status`), seq, the row's received time]. The time is carried, not looked up by seq: a backfill
 * may delete the row (a later repeat of an episode whose first arrival it brought), and under
 * `host` and `status` a key's rows go by it.
 */
export type ReplicaCursor = readonly [number | string | null, number, number | null];

/**
 * The column each explorer sort reads. Every row of a replica is `unverified` (it reads no
 * tarball), so `status` is one key: its rows go by received time, as a key's rows do under
 * `host` (`protocol/episode-filter.ts`).
 */
const SORT_COLUMN: Record<EpisodeSortKey, 'received_ms' | 'size_bytes' | 'host_id' | null> = {
  received: 'received_ms',
  size: 'size_bytes',
  host: 'host_id',
  status: null,
};

export interface ReplicaFilter {
  filter: EpisodeFilter;
  /** Receivers to keep (any when empty). */
  receivers: readonly string[];
}

interface EpisodeRow {
  seq: number;
  receiver: string;
  episode_id: string;
  host_id: string;
  sha256: string | null;
  size_bytes: number | null;
  received_at: string | null;
  received_ms: number | null;
  path: string | null;
  extra: string | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS replica_position (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS replica_episodes (
    seq INTEGER PRIMARY KEY,            -- the stream seq that brought it
    receiver TEXT NOT NULL,
    episode_id TEXT NOT NULL,
    host_id TEXT NOT NULL,
    sha256 TEXT,
    size_bytes INTEGER,
    received_at TEXT,
    received_ms INTEGER,
    path TEXT,
    extra TEXT,
    UNIQUE (episode_id, receiver)       -- also the lookup by id alone (a prefix of it)
  );
  CREATE INDEX IF NOT EXISTS replica_episodes_by_time ON replica_episodes(received_ms, seq);
  CREATE INDEX IF NOT EXISTS replica_episodes_by_size ON replica_episodes(size_bytes, seq);
  -- sort=host: a host's rows by received time, then arrival (seq). It replaced (host_id, seq).
  DROP INDEX IF EXISTS replica_episodes_by_host;
  CREATE INDEX IF NOT EXISTS replica_episodes_by_host_time ON replica_episodes(host_id, received_ms, seq);
  CREATE TABLE IF NOT EXISTS replica_layout (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  );
  -- What viewers posted through a replica (the stream's '_api' records): the latest alert action
  -- per key and live phase per host, written with the position. A restart seeds its live state
  -- from them: the receivers' snapshots hold none of it, and the stream before the oldest snapshot
  -- is not read again.
  CREATE TABLE IF NOT EXISTS replica_api_state (
    kind TEXT NOT NULL,                 -- 'alert_action' (key: dedup key) or 'phase' (key: host)
    key TEXT NOT NULL,
    value TEXT NOT NULL,                -- the action, or the phase transition, as JSON
    PRIMARY KEY (kind, key)
  ) WITHOUT ROWID;
  -- Rows the stream no longer held when the catalog was (re)built: each receiver's, with
  -- after < seq <= upto, fetched from its agent (GET /api/rows); done_through moves in the same
  -- transaction as the rows, and the job goes when it reached upto.
  CREATE TABLE IF NOT EXISTS replica_backfill (
    receiver TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    upto INTEGER NOT NULL,
    done_through INTEGER NOT NULL
  );
`;

/**
 * 2: an alert's row id is its stream seq (so every replica holds the same ids, and rows fetched
 * from an agent later sort where the stream put them). A catalog of an older layout is rebuilt.
 * 3: a hex sha256 written in capitals is stored lowercased, as the main catalog stores it
 * (`catalogSha256`; the explorer's `q` matches lowercase): a layout-2 catalog is mended in place.
 * 4: `replica_api_state` (what viewers posted). A layout-3 catalog has it empty: marked for a
 * replay of the `_api` records the stream still holds up to its position (`apiReplayPending`).
 */
const LAYOUT = 4;

/** One receiver's rows still to fetch from its agent (`after < seq <= upto`). */
export interface BackfillJob {
  receiver: string;
  epoch: string;
  upto: number;
  doneThrough: number;
}

/**
 * A catalog written before the episodes' unique key led with the id (it had a second index by id,
 * one more B-tree to write per row): its rows are dropped and rebuilt from the stream.
 */
function dropOldLayout(db: Db): number {
  const old = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'replica_episodes_by_id'")
    .get();
  if (old !== undefined) {
    db.exec('DROP TABLE replica_episodes; DROP TABLE IF EXISTS replica_position; DELETE FROM alerts;');
  }
  const hasLayout = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'replica_layout'")
    .get();
  const version = hasLayout
    ? ((db.prepare('SELECT version FROM replica_layout WHERE id = 1').pluck().get() as number | undefined) ??
      0)
    : 0;
  if (version < 2) {
    // Alerts numbered by arrival, not by seq: rebuilt from the stream (and the agents).
    db.exec(
      'DROP TABLE IF EXISTS replica_episodes; DROP TABLE IF EXISTS replica_position; DELETE FROM alerts;',
    );
  } else if (version < 3) lowercaseStoredSha256(db, 'replica_episodes');
  return version;
}

function toItem(row: EpisodeRow): EpisodeListItem {
  const item: EpisodeListItem = {
    episode_id: row.episode_id,
    host_id: row.host_id,
    sha256: row.sha256,
    size_bytes: row.size_bytes,
    received_at: row.received_at,
    receiver: row.receiver,
    // A replica has no tarballs: their integrity is its agent's (the detail route proxies there).
    status: 'unverified',
  };
  if (row.path !== null) item.path = row.path;
  if (row.extra !== null) item.extra = JSON.parse(row.extra) as Record<string, unknown>;
  return item;
}

const prefixEnd = (prefix: string) => `${prefix}\u{10ffff}`;

export class ReplicaCatalog {
  readonly db: Db;
  readonly #insertEpisode;
  readonly #insertAlert;
  readonly #setPosition;
  readonly #apply;
  readonly #replayApi;
  readonly #backfill;

  constructor(stateDir: string | null) {
    this.db = openDatabase(stateDir);
    const before = dropOldLayout(this.db);
    this.db.exec(SCHEMA);
    // Kept rows and position, but nothing of what viewers posted: replayed from the stream at start.
    if (before >= 2 && before < 4 && this.position() !== null) {
      this.db
        .prepare("INSERT OR IGNORE INTO replica_api_state (kind, key, value) VALUES ('_replay', '', '1')")
        .run();
    }
    this.db.prepare('INSERT OR REPLACE INTO replica_layout (id, version) VALUES (1, ?)').run(LAYOUT);
    const alertColumns = this.db.prepare("SELECT name FROM pragma_table_info('alerts')").pluck().all();
    if (!alertColumns.includes('receiver')) this.db.exec('ALTER TABLE alerts ADD COLUMN receiver TEXT');
    this.#insertEpisode = this.db.prepare(
      `INSERT OR IGNORE INTO replica_episodes
       (seq, receiver, episode_id, host_id, sha256, size_bytes, received_at, received_ms, path, extra)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertAlert = this.db.prepare(
      `INSERT OR IGNORE INTO alerts (id, host_id, symptom, detail, suggested_fix, detected_at, detected_ms, dedup_key, extra, receiver)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#setPosition = this.db.prepare(
      'INSERT INTO replica_position (id, epoch, seq) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq',
    );
    const putApi = this.db.prepare(
      'INSERT INTO replica_api_state (kind, key, value) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value',
    );
    const dropApi = this.db.prepare('DELETE FROM replica_api_state WHERE kind = ? AND key = ?');
    const applyApi = (e: DashboardEvent): void => {
      if (e.type === 'alert_action') {
        if (e.action === null) dropApi.run('alert_action', e.dedup_key);
        else putApi.run('alert_action', e.dedup_key, JSON.stringify(e.action));
      } else if (e.type === 'phase') {
        const { type: _t, seq: _s, ...transition } = e;
        putApi.run('phase', e.host_id, JSON.stringify(transition));
      }
    };
    this.#apply = this.db.transaction((epoch: string, lastSeq: number, events: readonly DashboardEvent[]) => {
      for (const e of events) {
        if (e.type === 'episode') this.#episode(e.seq, e);
        else if (e.type === 'alert') this.#alert(e.seq, e);
        else applyApi(e);
      }
      this.#setPosition.run(epoch, lastSeq);
    });
    this.#replayApi = this.db.transaction((events: readonly DashboardEvent[]) => {
      for (const e of events) applyApi(e);
      dropApi.run('_replay', '');
    });
    const dropLaterRepeat = this.db.prepare(
      'DELETE FROM replica_episodes WHERE episode_id = ? AND receiver = ? AND seq > ?',
    );
    const progress = this.db.prepare(
      'UPDATE replica_backfill SET done_through = ? WHERE receiver = ? AND epoch = ?',
    );
    const finish = this.db.prepare('DELETE FROM replica_backfill WHERE receiver = ? AND epoch = ?');
    this.#backfill = this.db.transaction(
      (job: BackfillJob, events: readonly DashboardEvent[], doneThrough: number, finished: boolean) => {
        const now = this.db
          .prepare('SELECT done_through FROM replica_backfill WHERE receiver = ? AND epoch = ?')
          .pluck()
          .get(job.receiver, job.epoch) as number | undefined;
        // The job is gone (a rebuild started over) or moved on: these rows are not wanted.
        if (now !== job.doneThrough) return false;
        for (const e of events) {
          if (e.seq <= job.doneThrough || e.seq > job.upto) continue;
          if (e.type === 'episode') {
            // The stream applied a repeat of this id at a later seq before its first arrival came
            // from the agent: the first arrival is the row, as on every other replica.
            dropLaterRepeat.run(e.episode_id, e.receiver ?? '', e.seq);
            this.#episode(e.seq, e);
          } else if (e.type === 'alert') {
            this.#alert(e.seq, e);
          }
        }
        if (finished) finish.run(job.receiver, job.epoch);
        else progress.run(doneThrough, job.receiver, job.epoch);
        return true;
      },
    );
  }

  /** Where the catalog is exact (null: never written). */
  position(): ReplicaPosition | null {
    return (
      (this.db.prepare('SELECT epoch, seq FROM replica_position WHERE id = 1').get() as
        | ReplicaPosition
        | undefined) ?? null
    );
  }

  /**
   * Applies the events up to `lastSeq` (receiver-stamped, as the feed gives them) and moves the
   * position there, in one transaction: rows and position are committed together or not at all.
   */
  apply(epoch: string, lastSeq: number, events: readonly DashboardEvent[]): void {
    this.#apply(epoch, lastSeq, events);
  }

  /**
   * The alert actions and live phases viewers posted, as of the position: the latest of each (for
   * a restart's live state; see `replica_api_state`).
   */
  apiState(): Pick<DashboardState, 'alert_actions' | 'live_phases'> {
    const out: Pick<DashboardState, 'alert_actions' | 'live_phases'> = { alert_actions: {}, live_phases: {} };
    const rows = this.db.prepare('SELECT kind, key, value FROM replica_api_state').all() as Array<{
      kind: string;
      key: string;
      value: string;
    }>;
    for (const { kind, key, value } of rows) {
      const target = kind === 'alert_action' ? out.alert_actions : kind === 'phase' ? out.live_phases : null;
      if (target === null || target === undefined) continue;
      Object.defineProperty(target, key, {
        value: JSON.parse(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  /** True when what viewers posted is to be replayed from the stream (a catalog of layout 3). */
  apiReplayPending(): boolean {
    return this.db.prepare("SELECT 1 FROM replica_api_state WHERE kind = '_replay'").get() !== undefined;
  }

  /** The `_api` events the stream held up to the position, applied in order; the replay is done. */
  replayApi(events: readonly DashboardEvent[]): void {
    this.#replayApi(events);
  }

  /** Forgets every row: the catalog starts over at `seq` of `epoch` (a rebuild). */
  reset(epoch: string, seq: number): void {
    this.db.transaction(() => {
      this.db.exec(
        'DELETE FROM replica_episodes; DELETE FROM alerts; DELETE FROM replica_backfill; DELETE FROM replica_api_state;',
      );
      this.#setPosition.run(epoch, seq);
    })();
  }

  /**
   * The stream no longer holds the seqs after the catalog's position up to `upto`: the position
   * moves to `upto` and each receiver gets a job for its rows in between (fetched from its agent),
   * in one transaction. Rows up to the old position stay.
   */
  skipTo(epoch: string, upto: number, receivers: readonly string[]): void {
    this.db.transaction(() => {
      const from = this.position()?.seq ?? 0;
      const add = this.db.prepare(
        `INSERT INTO replica_backfill (receiver, epoch, upto, done_through) VALUES (?, ?, ?, ?)
         ON CONFLICT (receiver) DO UPDATE SET epoch = excluded.epoch, upto = excluded.upto,
           done_through = CASE WHEN replica_backfill.epoch = excluded.epoch THEN replica_backfill.done_through ELSE excluded.done_through END`,
      );
      this.db.prepare('DELETE FROM replica_backfill WHERE epoch <> ?').run(epoch);
      for (const r of receivers) add.run(r, epoch, upto, from);
      this.#setPosition.run(epoch, upto);
    })();
  }

  /** The receivers whose older rows are still to fetch (the catalog is not complete before they are). */
  backfillJobs(): BackfillJob[] {
    return this.db
      .prepare(
        'SELECT receiver, epoch, upto, done_through AS doneThrough FROM replica_backfill ORDER BY receiver',
      )
      .all() as BackfillJob[];
  }

  /**
   * A page of a receiver's rows from its agent: written with the job's progress (`doneThrough`;
   * `finished` ends the job) in one transaction. False when the job changed meanwhile (nothing written).
   */
  applyBackfill(
    job: BackfillJob,
    events: readonly DashboardEvent[],
    doneThrough: number,
    finished: boolean,
  ): boolean {
    return this.#backfill(job, events, doneThrough, finished) as boolean;
  }

  #episode(seq: number, e: EpisodeRecord): void {
    this.#insertEpisode.run(
      seq,
      e.receiver ?? '',
      e.episode_id,
      e.host_id,
      e.sha256 === null ? null : catalogSha256(e.sha256),
      e.size_bytes,
      e.received_at,
      timestampMs(e.received_at),
      e.path ?? null,
      e.extra ? JSON.stringify(e.extra) : null,
    );
  }

  #alert(seq: number, a: AlertRecord): void {
    this.#insertAlert.run(seq, ...alertRow(a), a.receiver ?? null);
  }

  /** WHERE parts of a filter (host `r/h` is that receiver's host; a bare `h` is every receiver's). */
  #where(f: ReplicaFilter): { sql: string[]; params: Array<string | number> } {
    const sql: string[] = [];
    const params: Array<string | number> = [];
    const { filter } = f;
    if (filter.statuses.length > 0 && !filter.statuses.includes('unverified')) sql.push('0');
    // A replica reads no tarball: no episode has known phases, and a phase filter matches none.
    if (filter.phases.length > 0) sql.push('0');
    if (f.receivers.length > 0) {
      sql.push(`receiver IN (${f.receivers.map(() => '?').join(',')})`);
      params.push(...f.receivers);
    }
    if (filter.hosts.length > 0) sql.push(hostsWhere(filter.hosts, params));
    if (filter.q !== null) {
      const sha = filter.q.toLowerCase();
      sql.push('((episode_id >= ? AND episode_id < ?) OR (sha256 >= ? AND sha256 < ?))');
      params.push(filter.q, prefixEnd(filter.q), sha, prefixEnd(sha));
    }
    if (filter.fromMs !== null) {
      sql.push('received_ms >= ?');
      params.push(filter.fromMs);
    }
    if (filter.toMs !== null) {
      sql.push('received_ms <= ?');
      params.push(filter.toMs);
    }
    if (filter.minSize !== null) {
      sql.push('size_bytes >= ?');
      params.push(filter.minSize);
    }
    if (filter.maxSize !== null) {
      sql.push('size_bytes <= ?');
      params.push(filter.maxSize);
    }
    return { sql, params };
  }

  /**
   * One page in the explorer's order (`protocol/episode-filter.ts`), keyset-paged:
   * - `received`, `size`: the key in `order`, rows without it last in either order, ties by
   *   arrival in the same direction: two runs, rows with the key and rows without, each in its
   *   index's order (`(key, seq)` forwards or backwards);
   * - `host`, `status`: the key in `order` (one key for `status`: every row is `unverified`), a
   *   key's rows by received time then arrival, newest first for `asc` (rows without a time
   *   after) and the very reverse for `desc`: per host a range of `(host_id, received_ms, seq)`,
   *   hosts found one seek at a time; for `status` ranges of `(received_ms, seq)`.
   * No page sorts the table.
   */
  page(
    f: ReplicaFilter,
    sort: EpisodeSort,
    cursor: ReplicaCursor | null,
    limit: number,
  ): { items: EpisodeListItem[]; next: ReplicaCursor | null; total: number } {
    const where = this.#where(f);
    const total = this.db
      .prepare(
        `SELECT count(*) FROM replica_episodes ${where.sql.length ? `WHERE ${where.sql.join(' AND ')}` : ''}`,
      )
      .pluck()
      .get(...where.params) as number;
    const column = SORT_COLUMN[sort.sort];
    const asc = sort.order === 'asc';
    const dir = asc ? 'ASC' : 'DESC';
    const cmp = asc ? '>' : '<';
    const rows: EpisodeRow[] = [];
    const run = (extra: string[], params: Array<string | number>, orderBy: string): void => {
      if (rows.length > limit) return;
      const sql = [...where.sql, ...extra];
      rows.push(
        ...(this.db
          .prepare(
            `SELECT * FROM replica_episodes ${sql.length ? `WHERE ${sql.join(' AND ')}` : ''}
             ORDER BY ${orderBy} LIMIT ?`,
          )
          .all(...where.params, ...params, limit + 1 - rows.length) as EpisodeRow[]),
      );
    };
    if (column === null || column === 'host_id') {
      // `host` or `status`: a key's rows after a row (`from`; null: all of them) in received
      // time then arrival (timeRunsAfter), each run a range of the index.
      const timeRuns = (
        base: string[],
        baseParams: string[],
        from: { ms: number | null; arrival: number } | null,
      ) => {
        for (const r of timeRunsAfter(sort.order, from, 'seq'))
          run([...base, r.where], [...baseParams, ...r.params], r.order);
      };
      const from = cursor === null ? null : { ms: cursor[2], arrival: cursor[1] };
      if (sort.sort === 'status') timeRuns([], [], from);
      else {
        // Hosts one seek at a time along the host index, from the cursor's (its rest first).
        const next = (host: string | null): string | null =>
          (this.db
            .prepare(
              `SELECT host_id FROM replica_episodes ${host === null ? '' : `WHERE host_id ${cmp} ?`}
               ORDER BY host_id ${dir} LIMIT 1`,
            )
            .pluck()
            .get(...(host === null ? [] : [host])) as string | undefined) ?? null;
        let host = cursor === null ? next(null) : (cursor[0] as string);
        let position = from;
        while (host !== null && rows.length <= limit) {
          timeRuns(['host_id = ?'], [host], position);
          position = null;
          host = next(host);
        }
      }
    } else {
      const [value, seq] = cursor ?? [null, null];
      if (cursor === null || value !== null) {
        // The run of rows that have the key.
        const after =
          cursor === null || value === null
            ? []
            : [`(${column} ${cmp} ? OR (${column} = ? AND seq ${cmp} ?))`];
        run(
          [`${column} IS NOT NULL`, ...after],
          after.length ? [value as string | number, value as string | number, seq as number] : [],
          `${column} ${dir}, seq ${dir}`,
        );
      }
      // Then the rows without it.
      const after = cursor !== null && value === null ? [`seq ${cmp} ?`] : [];
      run([`${column} IS NULL`, ...after], after.length ? [seq as number] : [], `${column}, seq ${dir}`);
    }
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toItem),
      next: more && last ? [column === null ? null : last[column], last.seq, last.received_ms] : null,
      total,
    };
  }

  /** Counts by host (`<receiver>/<host>`, as the state keys them) and status under a filter. */
  facets(f: ReplicaFilter): EpisodeFacets {
    const where = this.#where(f);
    const rows = this.db
      .prepare(
        `SELECT receiver, host_id, count(*) AS n FROM replica_episodes
         ${where.sql.length ? `WHERE ${where.sql.join(' AND ')}` : ''} GROUP BY receiver, host_id`,
      )
      .all(...where.params) as Array<{ receiver: string; host_id: string; n: number }>;
    const host: Record<string, number> = {};
    let all = 0;
    for (const r of rows) {
      Object.defineProperty(host, `${r.receiver}/${r.host_id}`, {
        value: r.n,
        enumerable: true,
        writable: true,
      });
      all += r.n;
    }
    return { host, status: all > 0 ? { unverified: all } : {} };
  }

  /** An episode by id (the receiver's when given, else the first applied). */
  find(episodeId: string, receiver?: string): EpisodeListItem | null {
    const row = (
      receiver === undefined
        ? this.db
            .prepare('SELECT * FROM replica_episodes WHERE episode_id = ? ORDER BY seq LIMIT 1')
            .get(episodeId)
        : this.db
            .prepare('SELECT * FROM replica_episodes WHERE episode_id = ? AND receiver = ?')
            .get(episodeId, receiver)
    ) as EpisodeRow | undefined;
    return row ? toItem(row) : null;
  }

  /**
   * The alert lifecycle's groups on a replica: by (receiver, `dedup_key`) — two receivers' alerts
   * with one key are two groups — each with its `receiver`, newest first. Hosts as the explorer
   * takes them (`r/h` that receiver's, a bare `h` every receiver's).
   */
  alertGroups(filter: {
    hosts: readonly string[];
    symptoms: readonly string[];
    receivers: readonly string[];
  }): AlertGroup[] {
    const where: string[] = [];
    const params: string[] = [];
    const anyOf = (column: string, values: readonly string[]) => {
      where.push(`${column} IN (${values.map(() => '?').join(',')})`);
      params.push(...values);
    };
    if (filter.receivers.length) anyOf('receiver', filter.receivers);
    if (filter.symptoms.length) anyOf('symptom', filter.symptoms);
    if (filter.hosts.length) where.push(hostsWhere(filter.hosts, params));
    const rows = this.db
      .prepare(
        `SELECT a.host_id, a.symptom, a.detail, a.suggested_fix, a.detected_at, a.dedup_key, a.extra, a.receiver,
                g.n, g.first_seen, g.last_seen
         FROM (SELECT max(id) AS last_id, count(*) AS n, min(detected_at) AS first_seen,
                      max(detected_at) AS last_seen
               FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
               GROUP BY receiver, coalesce(dedup_key, '#' || id)) g
         JOIN alerts a ON a.id = g.last_id
         ORDER BY g.last_id DESC`,
      )
      .all(...params) as Array<
      Parameters<typeof alertFromRow>[0] & {
        receiver: string | null;
        n: number;
        first_seen: string | null;
        last_seen: string | null;
      }
    >;
    return rows.map((r) => ({
      ...alertFromRow(r),
      ...(r.receiver === null ? {} : { receiver: r.receiver }),
      count: r.n,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
    }));
  }

  /** The receivers holding alerts of `dedupKey`, by name. */
  alertReceivers(dedupKey: string): string[] {
    return this.db
      .prepare(
        'SELECT DISTINCT receiver FROM alerts WHERE dedup_key = ? AND receiver IS NOT NULL ORDER BY receiver',
      )
      .pluck()
      .all(dedupKey) as string[];
  }

  /** Every row, in seq order (tests compare two replicas' catalogs with it). */
  dump(): { episodes: Array<EpisodeListItem & { seq: number }>; alerts: number; alertRows: unknown[] } {
    const episodes = (
      this.db.prepare('SELECT * FROM replica_episodes ORDER BY seq').all() as EpisodeRow[]
    ).map((row) => ({ seq: row.seq, ...toItem(row) }));
    const alertRows = this.db
      .prepare(
        'SELECT id AS seq, receiver, host_id, symptom, detail, suggested_fix, detected_at, dedup_key, extra FROM alerts ORDER BY id',
      )
      .all();
    return { episodes, alerts: alertRows.length, alertRows };
  }

  close(): void {
    this.db.close();
  }
}
