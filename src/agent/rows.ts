import path from 'node:path';
import Database from 'better-sqlite3';
import type { UnsequencedEvent } from '../protocol/index.js';
import type { FileMark, RedisStreamLog } from '../scaleout/redis-stream-log.js';
import { DashboardError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { makeFolder } from '../util/make-folder.js';

/** The row store's file inside the agent's state dir. */
export const ROWS_FILE = 'agent-rows.sqlite';

/** Stream records read per step while the store fills a hole from the stream. */
const RECONCILE_PAGE = 5000;

/** Seqs the store may lack: `[from, to]`, both included (the stream no longer held them). */
export interface RowGap {
  from: number;
  to: number;
}

/** The catalog rows a source's batches carry: `index.jsonl`'s episodes, `alerts.jsonl`'s alerts. */
export type RowKind = 'episode' | 'alert';

/** Where an answered keyed append left its source's mark in the stream (`offset`: its end). */
export interface AnsweredMark {
  /** Its source, by the rows it carries. */
  kind: RowKind;
  fileId: string;
  offset: number;
}

/** This receiver's marks in the stream at a run's start, per source: newest generation first. */
export type StartMarks = Readonly<Record<RowKind, readonly FileMark[]>>;

/** One row of the export: a catalog row (episode or alert event, receiver named) and its seq. */
export interface ExportedRow {
  seq: number;
  /** The event's JSON as appended (no `seq`). */
  json: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS rows (
    seq INTEGER PRIMARY KEY,   -- the global stream seq the event got
    json TEXT NOT NULL         -- the event as appended (receiver named, no seq)
  );
  CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
  );
`;

/**
 * The agent's own copy of the catalog rows it appended (episode and alert events, with the global
 * seq each got), kept in its state dir so a replica that starts after the stream was trimmed can
 * fetch this receiver's older rows from the agent (`GET /api/rows`) and still hold the same rows
 * at the same seqs as the replicas that read them from the stream.
 *
 * Rows are written when their append is answered. The seqs of an append whose answer was lost
 * (it landed, the agent learns it only from a `skipped` re-send), or of one answered just before
 * the agent was killed, are not known then: the store notes "dirty from seq S" and fills itself
 * from the stream (this receiver's records from S on) before it answers an export. What the stream
 * no longer holds by then is a gap: the export says so (`complete: false`), never a silent hole.
 * A new epoch of the stream (Redis lost its data; the agent re-sends every file) empties it.
 */
export class AgentRowStore {
  readonly #db: Database.Database;
  readonly #logger: Logger;
  readonly #insert: Database.Statement;
  readonly #record: (firstSeq: number, rows: readonly string[], mark: AnsweredMark) => void;
  /** Bumped whenever `dirty_from` is lowered: a reconcile clears only the dirt it saw. */
  #dirtGeneration = 0;
  #reconciling: Promise<void> | null = null;
  /** Dirt noted in memory first (so a failing write of the store still leaves it known). */
  #memDirty: number | null = null;

  constructor(stateDir: string | null, logger: Logger) {
    this.#logger = logger;
    if (stateDir !== null) makeFolder(stateDir);
    this.#db = new Database(stateDir === null ? ':memory:' : path.join(stateDir, ROWS_FILE));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare('INSERT OR IGNORE INTO rows (seq, json) VALUES (?, ?)');
    this.#record = this.#db.transaction((firstSeq: number, rows: readonly string[], mark: AnsweredMark) => {
      for (let i = 0; i < rows.length; i++) this.#insert.run(firstSeq + i, rows[i]);
      if (rows.length > 0) this.#setMeta(`last:${mark.kind}`, firstSeq + rows.length - 1);
      this.#setMeta(`mark:${mark.kind}`, JSON.stringify({ fileId: mark.fileId, offset: mark.offset }));
    });
  }

  #meta(key: string): string | null {
    const row = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string | null }
      | undefined;
    return row?.value ?? null;
  }

  #setMeta(key: string, value: string | number | null): void {
    this.#db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value === null ? null : String(value));
  }

  get epoch(): string | null {
    return this.#meta('epoch');
  }

  /** The lowest seq whose row may be missing (filled from the stream before an export), or null. */
  get dirtyFrom(): number | null {
    const v = this.#meta('dirty_from');
    const stored = v === null ? null : Number(v);
    if (this.#memDirty === null) return stored;
    return stored === null ? this.#memDirty : Math.min(stored, this.#memDirty);
  }

  /** Seqs the store lacks for good (trimmed from the stream before it could fill them), or null. */
  get gap(): RowGap | null {
    const v = this.#meta('gap');
    return v === null ? null : (JSON.parse(v) as RowGap);
  }

  /** The highest seq held (0 when empty). */
  lastSeq(): number {
    return (this.#db.prepare('SELECT coalesce(max(seq), 0) FROM rows').pluck().get() as number) ?? 0;
  }

  count(): number {
    return this.#db.prepare('SELECT count(*) FROM rows').pluck().get() as number;
  }

  /**
   * A run of the agent starts in `epoch`, the stream's head then being `headAtStart` and its
   * marks for this receiver `marks` (per source, newest generation first).
   *
   * Another epoch than the store's: every row goes (the stream started over). If this receiver
   * has marks in the stream (a run from before the store existed, or one whose state dir was
   * lost), its rows so far are only in the stream: dirty from 1. If it has none, it never
   * appended in this epoch: the store is complete through `headAtStart` as it stands (dirty from
   * 1 would have the first reconcile read the whole stream and, if the stream was trimmed
   * meanwhile, report a gap of rows that were never this receiver's).
   *
   * The same epoch: a run killed between an append and its record left at most one batch per
   * source unrecorded. A source whose newest mark in the stream is the one the store recorded
   * with its last answered append has none. Any other source's batch lies above its last
   * recorded row and above what the last reconcile made complete: dirty from the lowest such
   * bound. (Without the mark check every restart was dirty from the quieter source's last row,
   * and once the stream had been trimmed past it the export reported a gap for good.)
   */
  begin(epoch: string, o: { marks: StartMarks; headAtStart: number }): void {
    const sources = Object.entries(o.marks) as Array<[RowKind, readonly FileMark[]]>;
    this.#db.transaction(() => {
      if (this.epoch !== epoch) {
        this.#db.exec('DELETE FROM rows; DELETE FROM meta;');
        this.#setMeta('epoch', epoch);
        if (sources.some(([, list]) => list.length > 0)) this.#setMeta('dirty_from', 1);
        else this.#setMeta('complete_through', o.headAtStart);
        return;
      }
      const complete = Number(this.#meta('complete_through') ?? 0);
      let from = Number.POSITIVE_INFINITY;
      for (const [kind, list] of sources) {
        if (this.#recordedNewest(kind, list)) continue;
        from = Math.min(from, Math.max(Number(this.#meta(`last:${kind}`) ?? 0), complete) + 1);
      }
      if (from !== Number.POSITIVE_INFINITY) this.#lowerDirt(from);
    })();
    this.#dirtGeneration++;
  }

  /** Whether `marks`' newest (a source's, in the stream) is the mark the store recorded last. */
  #recordedNewest(kind: RowKind, marks: readonly FileMark[]): boolean {
    const newest = marks[0];
    const kept = this.#meta(`mark:${kind}`);
    if (newest === undefined) return true; // the source never appended: nothing unrecorded
    if (kept === null) return false;
    const { fileId, offset } = JSON.parse(kept) as { fileId: string; offset: number };
    return newest.fileId === fileId && newest.offset === offset;
  }

  #lowerDirt(from: number): void {
    const now = this.dirtyFrom;
    if (now === null || from < now) this.#setMeta('dirty_from', from);
  }

  /**
   * An answered append (or one the stream answered `skipped`: `events` empty), whose source's mark
   * it left at `mark`: its catalog rows (a keyed batch's events are all of `mark.kind`) get
   * `firstSeq`, `firstSeq + 1`, …
   */
  record(firstSeq: number, events: readonly UnsequencedEvent[], mark: AnsweredMark): void {
    this.#record(
      firstSeq,
      events.map((e) => JSON.stringify(e)),
      mark,
    );
  }

  /** An append landed with seqs this agent did not learn (all above `from - 1`). */
  markDirty(from: number): void {
    const seq = Math.max(1, from);
    this.#memDirty = this.#memDirty === null ? seq : Math.min(this.#memDirty, seq);
    this.#dirtGeneration++;
    this.#lowerDirt(seq);
  }

  /**
   * Fills the store from the stream when it is dirty: this receiver's episode and alert records
   * from `dirty_from` on. Seqs the stream no longer holds become the gap.
   */
  reconcile(log: RedisStreamLog, receiver: string): Promise<void> {
    this.#reconciling ??= this.#reconcile(log, receiver).finally(() => {
      this.#reconciling = null;
    });
    return this.#reconciling;
  }

  async #reconcile(log: RedisStreamLog, receiver: string): Promise<void> {
    const from = this.dirtyFrom;
    if (from === null) return;
    const generation = this.#dirtGeneration;
    const epoch = this.epoch;
    // Up to the head as it is now, not chasing it: a row of this receiver appended after this
    // point is recorded when its append is answered, or noted dirty (a new generation) if not.
    // Chasing other receivers' appends only widens the window in which a trim makes a gap.
    const upto = await log.lastSeq();
    let next = from;
    let filled = 0;
    while (next <= upto) {
      const records = await log.read(next, { limit: Math.min(RECONCILE_PAGE, upto - next + 1) });
      if (log.epoch !== epoch) {
        throw new DashboardError('epoch_changed', 'the stream has a new epoch; the rows start over');
      }
      if (records === null) {
        // Trimmed: what lay between is gone from the stream.
        const first = (await log.command(['XRANGE', log.keys.stream, '-', '+', 'COUNT', '1'])) as Array<
          [string, unknown]
        > | null;
        const oldest = first?.[0] ? Number(first[0][0].split('-')[0]) : (await log.lastSeq()) + 1;
        if (oldest <= next) {
          throw new DashboardError(
            'stream_read_failed',
            `the stream holds seq ${next} but did not answer it`,
          );
        }
        const was = this.gap;
        const gap = { from: Math.min(was?.from ?? next, next), to: Math.max(was?.to ?? 0, oldest - 1) };
        this.#setMeta('gap', JSON.stringify(gap));
        this.#logger.error(
          { receiver, gap },
          'the stream no longer holds seqs this agent appended without learning their seq: its row export lacks them',
        );
        next = oldest;
        continue;
      }
      const last = records.at(-1);
      if (!last) break;
      this.#db.transaction(() => {
        for (const r of records) {
          if (r.receiver !== receiver) continue;
          const { event } = r;
          if (event.type !== 'episode' && event.type !== 'alert') continue;
          const { seq, ...rest } = event;
          filled += this.#insert.run(seq, JSON.stringify(rest)).changes;
        }
      })();
      next = last.event.seq + 1;
    }
    // Dirt noted meanwhile stays (it lowered dirty_from, at most to below `from`): the next
    // reconcile reads from there again.
    if (generation === this.#dirtGeneration) {
      this.#memDirty = null;
      this.#setMeta('dirty_from', null);
      this.#setMeta('complete_through', next - 1);
    }
    this.#logger.info({ receiver, from, filled, to: next - 1 }, 'row store filled from the stream');
  }

  /** Rows with `after < seq <= upto`, oldest first, at most `limit`. */
  page(after: number, upto: number, limit: number): ExportedRow[] {
    return this.#db
      .prepare('SELECT seq, json FROM rows WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?')
      .all(after, upto, limit) as ExportedRow[];
  }

  close(): void {
    this.#db.close();
  }
}
