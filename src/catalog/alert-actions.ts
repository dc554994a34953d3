/**
 * Operators' acknowledgements and silences of alert groups, kept in the catalog (the state dir), so
 * they survive a restart. One row per `dedup_key`: a new action replaces the old one. The table is
 * created here (not in the migrations): it is the only writer and it holds nothing derived from the
 * data root, so a catalog rebuilt from the root simply starts with none.
 */
import type { AlertGroup } from '../protocol/api.js';
import type { AlertAction } from '../protocol/index.js';
import { alertGroupsSql } from './alert-groups.js';
import type { Db } from './db.js';
import { alertFromRow } from './ingest-store.js';

export class AlertActionStore {
  readonly #stmts;

  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS alert_actions (
      dedup_key TEXT PRIMARY KEY,
      kind TEXT NOT NULL,               -- 'acknowledge' | 'silence'
      by TEXT NOT NULL,
      at TEXT NOT NULL,                 -- ISO-8601
      until TEXT,                       -- ISO-8601 or NULL
      note TEXT
    )`);
    this.#stmts = {
      all: db.prepare('SELECT dedup_key, kind, by, at, until, note FROM alert_actions ORDER BY at'),
      put: db.prepare(
        `INSERT INTO alert_actions (dedup_key, kind, by, at, until, note) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(dedup_key) DO UPDATE SET kind = excluded.kind, by = excluded.by, at = excluded.at,
           until = excluded.until, note = excluded.note`,
      ),
      remove: db.prepare('DELETE FROM alert_actions WHERE dedup_key = ?'),
    };
  }

  all(): AlertAction[] {
    return this.#stmts.all.all() as AlertAction[];
  }

  put(a: AlertAction): void {
    this.#stmts.put.run(a.dedup_key, a.kind, a.by, a.at, a.until, a.note);
  }

  /** @returns whether there was one. */
  remove(dedupKey: string): boolean {
    return this.#stmts.remove.run(dedupKey).changes > 0;
  }

  /**
   * Every alert group (by `dedup_key`; an alert without one is its own group) matching the hosts
   * and symptoms, newest first, with count and first/last seen: the lifecycle needs all of them to
   * count the open ones.
   */
  groups(filter: { hosts: readonly string[]; symptoms: readonly string[] }): AlertGroup[] {
    const g = alertGroupsSql(filter);
    const rows = this.db
      .prepare(
        `SELECT a.host_id, a.symptom, a.detail, a.suggested_fix, a.detected_at, a.dedup_key, a.extra,
                g.n, g.first_seen, g.last_seen
         FROM (${g.sql}) g
         JOIN alerts a ON a.id = g.last_id
         ORDER BY g.last_id DESC`,
      )
      .all(...g.params) as Array<
      Parameters<typeof alertFromRow>[0] & { n: number; first_seen: string | null; last_seen: string | null }
    >;
    return rows.map((r) => ({
      ...alertFromRow(r),
      count: r.n,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
    }));
  }
}
