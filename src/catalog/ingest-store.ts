import type Database from 'better-sqlite3';
import { IdHashSet } from '../feeders/id-hash-set.js';
import { LINE_OK, ROW, ROW_FIELDS, SPAN_EXTRAS_SHIFT, SPAN_HEAD } from '../feeders/index-compact.js';
import { decodeString, JsonLineScanner, KIND, latin1 } from '../feeders/json-line.js';
import { INDEX, INDEX_FIELDS, parseIndexBytes, parseIndexLine } from '../feeders/records.js';
import type { Checkpoint, PendingFile } from '../feeders/tail/types.js';
import { catalogSha256 } from '../protocol/episode-filter.js';
import {
  type AlertRecord,
  dict,
  type EpisodeRecord,
  type HostIndexed,
  RECENT_LIMIT,
} from '../protocol/index.js';
import { isoFromMs, timestampMs } from '../util/time.js';
import { ADD_TO_ALERT_GROUP } from './alert-groups.js';
import type { Db } from './db.js';
import { defaultRelPath } from './disk-sync-paths.js';
import { InsertClassifier } from './insert-classifier.js';
import { scannedExtraJson, scannedId, scannedText, spannedExtraJson } from './scanned-row.js';
import { BULK_REPEATS_TABLE, EPISODE_PATH } from './schema.js';

/** The tailed sources whose positions are checkpointed. */
export type SourceName = 'index' | 'alerts';

/** What the catalog knows at start-up: totals and positions as of the last committed batch. */
export interface StoredTotals {
  total_episodes: number;
  total_bytes: number;
  total_alerts: number;
  duplicate_lines: number;
  hosts_indexed: Record<string, HostIndexed>;
  recent_episodes: EpisodeRecord[];
  recent_alerts: AlertRecord[];
  host_last_alert: Record<string, AlertRecord>;
  checkpoints: Partial<Record<SourceName, Checkpoint>>;
}

/** An `episodes` row as read back: `path` as EPISODE_PATH gives it. */
interface EpisodeRow {
  episode_id: string;
  host_id: string;
  sha256: string | null;
  size_bytes: number | null;
  received_at: string | null;
  received_ms: number | null;
  path: string | null;
  extra: string | null;
}

interface AlertRow {
  host_id: string | null;
  symptom: string | null;
  detail: string | null;
  suggested_fix: string | null;
  detected_at: string | null;
  dedup_key: string | null;
  extra: string | null;
}

export function episodeFromRow(row: EpisodeRow): EpisodeRecord {
  const record: EpisodeRecord = {
    episode_id: row.episode_id,
    host_id: row.host_id,
    sha256: row.sha256,
    size_bytes: row.size_bytes,
    // NULL: the canonical text of `received_ms` (schema.ts EPISODE_PATH).
    received_at: row.received_at ?? (row.received_ms === null ? null : isoFromMs(row.received_ms)),
  };
  if (row.path !== null) record.path = row.path;
  if (row.extra !== null) record.extra = JSON.parse(row.extra) as Record<string, unknown>;
  return record;
}

export function alertFromRow(row: AlertRow): AlertRecord {
  const record: AlertRecord = {
    host_id: row.host_id,
    symptom: row.symptom,
    detail: row.detail,
    suggested_fix: row.suggested_fix,
    detected_at: row.detected_at,
    dedup_key: row.dedup_key,
  };
  if (row.extra !== null) record.extra = JSON.parse(row.extra) as Record<string, unknown>;
  return record;
}

/** The `counters` rows the index's lines make (the alerts' is `total_alerts`). */
export const EPISODE_COUNTERS = ['total_episodes', 'total_bytes', 'duplicate_lines'] as const;

function counter(db: Db, name: string): number {
  const row = db.prepare('SELECT value FROM counters WHERE name = ?').get(name) as
    | { value: number }
    | undefined;
  return row?.value ?? 0;
}

export function readCheckpoint(db: Db, source: SourceName): Checkpoint | null {
  const row = db
    .prepare(
      'SELECT dev, ino, fingerprint, fingerprint_len, offset, pending FROM checkpoints WHERE source = ?',
    )
    .get(source) as
    | {
        dev: number;
        ino: number;
        fingerprint: string;
        fingerprint_len: number;
        offset: number;
        pending: string | null;
      }
    | undefined;
  if (!row) return null;
  const cp: Checkpoint = {
    dev: row.dev,
    ino: row.ino,
    fingerprint: row.fingerprint,
    fingerprintLen: row.fingerprint_len,
    offset: row.offset,
  };
  if (row.pending !== null) cp.pending = JSON.parse(row.pending) as PendingFile[];
  return cp;
}

/** Totals, recent windows and checkpoints as committed. Cheap: counters and small tables only. */
export function loadStoredTotals(db: Db): StoredTotals {
  const hosts_indexed = dict<HostIndexed>();
  const hostRows = db
    .prepare('SELECT host_id, episodes, bytes, last_received_at FROM host_totals')
    .all() as Array<{ host_id: string } & HostIndexed>;
  for (const r of hostRows) {
    hosts_indexed[r.host_id] = { episodes: r.episodes, bytes: r.bytes, last_received_at: r.last_received_at };
  }
  const recent_episodes = (
    db
      .prepare(
        `SELECT episode_id, host_id, sha256, size_bytes, received_at, received_ms, ${EPISODE_PATH} AS path, extra
         FROM episodes ORDER BY id DESC LIMIT ?`,
      )
      .all(RECENT_LIMIT) as EpisodeRow[]
  ).map(episodeFromRow);
  const recent_alerts = (
    db
      .prepare(
        'SELECT host_id, symptom, detail, suggested_fix, detected_at, dedup_key, extra FROM alerts ORDER BY id DESC LIMIT ?',
      )
      .all(RECENT_LIMIT) as AlertRow[]
  ).map(alertFromRow);
  const host_last_alert = dict<AlertRecord>();
  const lastAlerts = db
    .prepare(
      `SELECT host_id, symptom, detail, suggested_fix, detected_at, dedup_key, extra FROM alerts
       WHERE id IN (SELECT max(id) FROM alerts WHERE host_id IS NOT NULL GROUP BY host_id)`,
    )
    .all() as AlertRow[];
  for (const row of lastAlerts) {
    const alert = alertFromRow(row);
    if (alert.host_id !== null) host_last_alert[alert.host_id] = alert;
  }
  const checkpoints: Partial<Record<SourceName, Checkpoint>> = {};
  for (const source of ['index', 'alerts'] as const) {
    const cp = readCheckpoint(db, source);
    if (cp) checkpoints[source] = cp;
  }
  return {
    total_episodes: counter(db, 'total_episodes'),
    total_bytes: counter(db, 'total_bytes'),
    total_alerts: counter(db, 'total_alerts'),
    duplicate_lines: counter(db, 'duplicate_lines'),
    hosts_indexed,
    recent_episodes,
    recent_alerts,
    host_last_alert,
    checkpoints,
  };
}

function checkpointWriter(db: Db): (source: SourceName, cp: Checkpoint) => void {
  // Prepared on first use: a store that writes no checkpoint (a migration test's older schema)
  // needs no statement.
  const prepare = () =>
    db.prepare(
      `INSERT INTO checkpoints (source, dev, ino, fingerprint, fingerprint_len, offset, pending, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(source) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, fingerprint = excluded.fingerprint,
       fingerprint_len = excluded.fingerprint_len, offset = excluded.offset, pending = excluded.pending,
       updated_at = excluded.updated_at`,
    );
  let stmt: ReturnType<typeof prepare> | null = null;
  return (source, cp) => {
    stmt ??= prepare();
    stmt.run(
      source,
      cp.dev,
      cp.ino,
      cp.fingerprint,
      cp.fingerprintLen,
      cp.offset,
      cp.pending && cp.pending.length > 0 ? JSON.stringify(cp.pending) : null,
      new Date().toISOString(),
    );
  };
}

function counterAdder(db: Db): (name: string, delta: number) => void {
  const stmt = db.prepare(
    'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value',
  );
  return (name, delta) => {
    if (delta !== 0) stmt.run(name, delta);
  };
}

export interface EpisodeBatchResult {
  inserted: number;
  duplicates: number;
}

/**
 * Writes index records in one transaction together with the checkpoint that covers them, so a
 * crash can neither lose nor double-count a line. The caller decided which lines repeat an id
 * (the main thread's one duplicate check): those come as `duplicateIds` and only bump that
 * episode's `duplicates` and the `duplicate_lines` counter. The unique key still guards the
 * table: a record whose id is already there (a cold first pass's repeats, which only hash the
 * ids) counts as a repeat the same way.
 */
export class EpisodeStore {
  private readonly db: Db;
  private readonly insert;
  private readonly bumpDuplicate;
  private readonly upsertHost;
  private readonly addCounter;
  private readonly writeCheckpoint;
  private readonly noteBatch;
  private readonly tx;
  private readonly columnsTx;
  private readonly linesTx;
  /** Set while a cold bulk load fills the keyless table (`startBulk`). */
  private bulk: BulkLoad | null = null;
  /** Gives a live batch's rows their integrity status at insert (`classifyLive`); null: the verifier does. */
  private classifier: InsertClassifier | null = null;
  /** The classifier while a live batch is written (`writeBatch`), else null. */
  private classifying: InsertClassifier | null = null;
  /** Whether the last `writeBatch` left the verifier work (rows to classify, files to hash). */
  private verifierWork = true;

  constructor(db: Db) {
    this.db = db;
    // A live row comes with its status: the classifier's, or the column's default ('unverified',
    // left to the verifier thread).
    this.insert = db.prepare(
      `INSERT INTO episodes (${EPISODE_INSERT_COLUMNS.join(', ')}, first_seen_at, status) VALUES ${EPISODE_VALUES.slice(0, -1)}, ?) ON CONFLICT(episode_id) DO NOTHING`,
    );
    this.bumpDuplicate = db.prepare('UPDATE episodes SET duplicates = duplicates + 1 WHERE episode_id = ?');
    this.upsertHost = db.prepare(
      `INSERT INTO host_totals (host_id, episodes, bytes, last_received_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(host_id) DO UPDATE SET episodes = episodes + excluded.episodes, bytes = bytes + excluded.bytes,
         last_received_at = CASE WHEN last_received_at IS NULL OR excluded.last_received_at > last_received_at
                                 THEN excluded.last_received_at ELSE last_received_at END`,
    );
    this.addCounter = counterAdder(db);
    this.writeCheckpoint = checkpointWriter(db);
    this.noteBatch = batchNoter(db);
    this.tx = db.transaction(
      (records: readonly EpisodeRecord[], checkpoint: Checkpoint | null, duplicateIds: readonly string[]) =>
        this.writeUnsafe(records, checkpoint, duplicateIds),
    );
    this.columnsTx = db.transaction((c: EpisodeColumns, checkpoint: Checkpoint) =>
      this.writeColumnsUnsafe(c, checkpoint),
    );
    this.linesTx = db.transaction(
      (lines: readonly string[], duplicateAt: readonly number[], checkpoint: Checkpoint | null) =>
        this.writeLinesUnsafe(lines, duplicateAt, checkpoint),
    );
  }

  /**
   * A cold bulk load begins: the table is empty and has no unique key (the writer dropped it;
   * schema.ts EPISODE_KEY_INDEX), so ids are told apart by their 64-bit hash until the key is
   * built. A line whose id hash was seen in this load is held in `bulk_repeats` with its batch,
   * counted neither inserted nor repeated, and applied by `applyHeld` once the key exists (so a
   * different id that shares a hash still gets its row).
   *
   * Which lines those are, the first pass's batches say (`writeColumns`, `writeLines`: the main
   * thread's one duplicate check by the same 64-bit hash, `duplicateAt`), so the writer hashes no
   * id of its own: hashing and keeping a million ids here (an `IdHashSet` of 12 MiB) was ≈ 0.2 s
   * of its CPU for the rows of a 1M-line load. Only record batches (`writeBatch`, which carry no
   * such marks) are told apart here, by a set of their own; the two never meet in one load (the
   * writer builds the key before a record batch that follows marked ones: `marked`).
   */
  startBulk(): void {
    this.db.exec(BULK_REPEATS_TABLE);
    this.bulk = {
      ids: null,
      marked: false,
      insert: this.db.prepare(INSERT_EPISODE),
      insertMany: this.db.prepare(
        `${INSERT_EPISODE}${`, ${EPISODE_VALUES}`.repeat(BULK_INSERT_ROWS - 1)}`,
      ) as Database.Statement<unknown[]>,
      pending: new Array<unknown>(BULK_INSERT_ROWS * EPISODE_COLUMN_COUNT).fill(null),
      held: 0,
      hold: this.db.prepare('INSERT INTO bulk_repeats (episode_id, row) VALUES (?, ?)'),
    };
  }

  /**
   * True when this bulk load took its repeats from batches' marks: a batch without them (records)
   * can only be written once the key is built (`endBulk`), as nothing here knows the ids so far.
   */
  get marked(): boolean {
    return this.bulk?.marked === true;
  }

  /** The bulk load is over and the key is built: its held lines are applied (`applyHeld`). */
  endBulk(): EpisodeBatchResult {
    this.bulk = null;
    return this.applyHeld();
  }

  /**
   * Applies the lines a bulk load held back (this run's, or one's cut short by a crash; the key
   * must exist): a repeat bumps its episode's `duplicates`, a line whose id is not there after all
   * is inserted. One transaction, which drops `bulk_repeats`.
   */
  applyHeld(): EpisodeBatchResult {
    const none = { inserted: 0, duplicates: 0 };
    if (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bulk_repeats'").get() ===
      undefined
    )
      return none;
    return this.db
      .transaction(() => {
        const batch = this.begin();
        const held = this.db.prepare('SELECT episode_id, row FROM bulk_repeats ORDER BY id').all() as Array<{
          episode_id: string;
          row: string | null;
        }>;
        for (const h of held) {
          if (h.row === null) {
            this.bumpDuplicate.run(h.episode_id);
            batch.duplicates++;
            continue;
          }
          const [hostId, sha256, sizeBytes, receivedAt, receivedMs, path, extra] = JSON.parse(
            h.row,
          ) as HeldRow;
          this.addRow(batch, h.episode_id, hostId, sha256, sizeBytes, receivedAt, receivedMs, path, extra);
        }
        this.db.exec('DROP TABLE bulk_repeats');
        return this.end(batch, null);
      })
      .immediate();
  }

  /**
   * From now on the rows of record batches (`writeBatch`: the tailer's, live) get their integrity
   * status as they are inserted, when the verifier has classified every row before them
   * (`insert-classifier.ts`); `dataRoot` is where their files are.
   */
  classifyLive(dataRoot: string): void {
    this.classifier = new InsertClassifier(this.db, dataRoot);
  }

  /**
   * Whether the verifier has work from the last `writeBatch`: rows it left unclassified or files
   * it claimed (to hash). Always true without `classifyLive`.
   */
  get leftVerifierWork(): boolean {
    return this.verifierWork;
  }

  writeBatch(
    records: readonly EpisodeRecord[],
    checkpoint: Checkpoint | null,
    duplicateIds: readonly string[] = [],
  ): EpisodeBatchResult {
    // Every write transaction of this store takes the write lock at BEGIN (IMMEDIATE): one that
    // read first (a classified batch reads the verifier's watermark; `applyHeld` reads the held
    // lines) fails at once with "database is locked" when another connection (the verifier, the
    // main thread's phase-mix cache) committed between its read and its first write, whatever the
    // busy timeout. IMMEDIATE waits for the lock instead.
    if (this.classifier === null || this.bulk !== null) this.verifierWork = true;
    return this.tx.immediate(records, checkpoint, duplicateIds);
  }

  /**
   * A cold first pass's range from its typed columns (`PersistBatch` 'index_columns'): host, size
   * and time come as the scan read them; ids and sha256s are sliced from the bytes where the scan
   * found them. A line with more than those (a path, extra keys, escapes) has its fields' places
   * in `spans` (the first pass's scan noted them: scanning it again here cost ≈ 0.6 µs for a
   * receiver's 400-byte line, ≈ 0.6–0.9 s of this thread's CPU for a 1M-line mixed or foreign
   * index), or — a line too long for that — is scanned again; either way its columns are taken
   * where they lie, `extra` as its keys' and values' own bytes (`scanned-row.ts`), never parsed
   * into a record.
   */
  writeColumns(c: EpisodeColumns, checkpoint: Checkpoint): EpisodeBatchResult {
    // Handed on as one object literal, so the loop always sees one shape: the batches come from
    // another thread with their envelope's fields (`fd` or `bytes`, a deferred tail's), and each
    // new shape threw away the loop's optimized code (`--trace-deopt`: "wrong map", 5 times a
    // 1M-line start, each a compile again).
    const { bytes, count, status, host, hosts, size, receivedMs, rows, spans, texts, duplicateAt } = c;
    const columns: EpisodeColumns = {
      bytes,
      count,
      status,
      host,
      hosts,
      size,
      receivedMs,
      rows,
      spans,
      texts,
      duplicateAt,
    };
    return this.columnsTx.immediate(columns, checkpoint);
  }

  /**
   * A cold first pass's batch of whole lines (the tailer read them: no range plan), each parsed by
   * the one line parser; `duplicateAt` (ascending indexes into `lines`) are the lines the main
   * thread found repeating an id, as for `writeColumns`.
   */
  writeLines(
    lines: readonly string[],
    duplicateAt: readonly number[],
    checkpoint: Checkpoint | null,
  ): EpisodeBatchResult {
    return this.linesTx.immediate(lines, duplicateAt, checkpoint);
  }

  private writeLinesUnsafe(
    lines: readonly string[],
    duplicateAt: readonly number[],
    checkpoint: Checkpoint | null,
  ): EpisodeBatchResult {
    const batch = this.begin();
    let d = 0;
    for (let i = 0; i < lines.length; i++) {
      while (d < duplicateAt.length && (duplicateAt[d] as number) < i) d++;
      const r = parseIndexLine(lines[i] as string);
      if (r.ok) this.add(batch, r.record, duplicateAt[d] === i);
    }
    return this.end(batch, checkpoint);
  }

  private writeColumnsUnsafe(c: EpisodeColumns, checkpoint: Checkpoint): EpisodeBatchResult {
    const batch = this.begin();
    this.addColumnRows(batch, c);
    return this.end(batch, checkpoint);
  }

  /**
   * The rows of a first-pass batch's columns, added to `batch`. Nothing follows its loop: with
   * `this.end(...)` after it (in `writeColumnsUnsafe`), V8's on-stack-replaced code for the loop
   * met that call with no type feedback and was thrown away at the end of every batch
   * (`--trace-deopt`: 52 times in a 1M-line mixed load, the next batch starting again in the
   * interpreter), as `insertBatch` in feeders/id-hash-set.ts once was.
   */
  private addColumnRows(batch: RowBatch, c: EpisodeColumns): void {
    const b = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
    const { status, host, hosts, size, receivedMs, rows, spans, texts, duplicateAt } = c;
    let t = 0;
    let d = 0;
    /** The next line's `spans` record (they follow one another in line order). */
    let at = 0;
    for (let i = 0; i < c.count; i++) {
      if (status[i] !== LINE_OK) continue;
      while (d < duplicateAt.length && (duplicateAt[d] as number) < i) d++;
      const repeat = duplicateAt[d] === i;
      const r = i * ROW_FIELDS;
      let line = rows[r + ROW.line] as number;
      const idStart = rows[r + ROW.idStart] as number;
      if (line === -1) {
        // Added as text (the byte reader declined it): its text came along.
        while (t < texts.length && (texts[t] as { index: number }).index < i) t++;
        const text = texts[t];
        const parsed = text?.index === i ? parseIndexLine(text.line) : null;
        if (parsed?.ok) this.add(batch, parsed.record, repeat);
        continue;
      }
      /** The line's `spans` record's head (SPAN_HEAD), or -1: it has none. */
      let head = -1;
      if (line < -1) {
        line = -2 - line;
        head = spans[at++] as number;
      }
      const ms = receivedMs[i] as number;
      const bytes = size[i] as number;
      const timed = !Number.isNaN(ms);
      const hostId = hosts[host[i] as number] as string;
      const sizeBytes = Number.isNaN(bytes) ? null : bytes;
      // What the record's parser writes is the instant's ISO-8601 UTC text (whole ms): stored as
      // NULL beside the time (`DERIVED`), never formatted here.
      const receivedAt = timed ? DERIVED : null;
      const receivedMsOrNull = timed ? ms : null;
      if (idStart < 0) {
        // A line the first pass left to be scanned again (too long for a record, a number for an id).
        const id = rowScanner.scan(b, line) >= 0 ? scannedId(rowScanner) : null;
        if (id === null) {
          // Unreachable while the bytes are the ones the first pass scanned; the full parse decides.
          const parsed = parseIndexBytes(b, line);
          if (parsed.ok) this.add(batch, parsed.record, repeat);
          continue;
        }
        this.addRow(
          batch,
          id,
          hostId,
          scannedText(rowScanner, INDEX.sha256),
          sizeBytes,
          receivedAt,
          receivedMsOrNull,
          scannedText(rowScanner, INDEX.path),
          scannedExtraJson(rowScanner),
          repeat,
        );
        continue;
      }
      const idEnd = rows[r + ROW.idEnd] as number;
      const shaStart = rows[r + ROW.shaStart] as number;
      const shaEnd = rows[r + ROW.shaEnd] as number;
      if (head < 0) {
        this.addRow(
          batch,
          latin1(b, idStart, idEnd),
          hostId,
          shaStart < 0 ? null : latin1(b, shaStart, shaEnd),
          sizeBytes,
          receivedAt,
          receivedMsOrNull,
          null,
          null,
          repeat,
        );
        continue;
      }
      // The rest where the first pass's scan found it (SPAN_HEAD): nothing is scanned again.
      let path: string | null = null;
      if ((head & SPAN_HEAD.path) !== 0) {
        const kind = (head & SPAN_HEAD.pathEscaped) !== 0 ? KIND.string : KIND.plainString;
        path = decodeString(b, line + (spans[at] as number), line + (spans[at + 1] as number), kind);
        at += 2;
      }
      const extras = head >>> SPAN_EXTRAS_SHIFT;
      const extra = extras === 0 ? null : spannedExtraJson(b, spans, at, extras, line);
      at += 2 * extras;
      this.addRow(
        batch,
        decodeString(b, idStart, idEnd, (head & SPAN_HEAD.idEscaped) !== 0 ? KIND.string : KIND.plainString),
        hostId,
        shaStart < 0
          ? null
          : decodeString(
              b,
              shaStart,
              shaEnd,
              (head & SPAN_HEAD.shaEscaped) !== 0 ? KIND.string : KIND.plainString,
            ),
        sizeBytes,
        receivedAt,
        receivedMsOrNull,
        path,
        extra,
        repeat,
      );
    }
  }

  private writeUnsafe(
    records: readonly EpisodeRecord[],
    checkpoint: Checkpoint | null,
    duplicateIds: readonly string[],
  ): EpisodeBatchResult {
    const batch = this.begin();
    const classifier = this.bulk === null ? this.classifier : null;
    classifier?.begin();
    this.classifying = classifier;
    try {
      for (const r of records) this.add(batch, r);
    } finally {
      this.classifying = null;
    }
    if (classifier) this.verifierWork = classifier.end();
    // After the inserts: a repeat may come in the same batch as its first sighting. During a bulk
    // load there is no key to find its episode by yet: it is held.
    const bulk = this.bulk;
    if (bulk !== null) for (const id of duplicateIds) bulk.hold.run(id, null);
    else {
      batch.duplicates += duplicateIds.length;
      for (const id of duplicateIds) this.bumpDuplicate.run(id);
    }
    return this.end(batch, checkpoint);
  }

  private begin(): RowBatch {
    // Rows of a batch that failed before its end (the writer retries it whole).
    if (this.bulk !== null) this.bulk.held = 0;
    return {
      now: new Date().toISOString(),
      hosts: new Map(),
      inserted: 0,
      duplicates: 0,
      bytes: 0,
      firstId: null,
    };
  }

  private add(batch: RowBatch, r: EpisodeRecord, repeat?: boolean): void {
    this.addRow(
      batch,
      r.episode_id,
      r.host_id,
      r.sha256,
      r.size_bytes,
      r.received_at,
      timestampMs(r.received_at),
      r.path ?? null,
      r.extra ? JSON.stringify(r.extra) : null,
      repeat,
    );
  }

  /**
   * One line's row. `receivedAt` DERIVED: the canonical text of `receivedMs` (the first pass's
   * columns), not formatted. `repeat`: during a bulk load, whether the first pass found the line's
   * id hash earlier (its batch's marks); undefined for a record batch's line, which the bulk
   * load's own set of id hashes tells. Stored as schema.ts EPISODE_PATH describes: `received_at` NULL when
   * it is that text, `path` DEFAULT_PATH_MARK when it is the default place, `first_seen_at` ''.
   */
  private addRow(
    batch: RowBatch,
    episodeId: string,
    hostId: string,
    sha256: string | null,
    sizeBytes: number | null,
    receivedAt: string | null | typeof DERIVED,
    receivedMs: number | null,
    path: string | null,
    extra: string | null,
    repeat?: boolean,
  ): void {
    // A hex digest written in capitals is stored lowercased (the explorer's `q` matches lowercase).
    if (sha256 !== null) sha256 = catalogSha256(sha256);
    const derived =
      receivedMs !== null &&
      (receivedAt === DERIVED || (receivedAt !== null && isoFromMs(receivedMs) === receivedAt));
    const storedAt = derived || receivedAt === DERIVED ? null : receivedAt;
    // (Not a path holding a NUL: SQL's `||` is not trusted to give such a text back whole.)
    const storedPath =
      path !== null && path === defaultRelPath(hostId, episodeId) && !path.includes('\0')
        ? DEFAULT_PATH_MARK
        : path;
    const bulk = this.bulk;
    if (bulk !== null) {
      let seen: boolean;
      if (repeat === undefined || bulk.ids !== null) {
        // A record batch's line, or any line of a load that began with record batches.
        bulk.ids ??= new IdHashSet(1 << 16);
        seen = !bulk.ids.add(episodeId);
      } else {
        seen = repeat;
        bulk.marked = true;
      }
      if (seen) {
        const at = receivedAt === DERIVED ? isoFromMs(receivedMs as number) : receivedAt;
        const row: HeldRow = [hostId, sha256, sizeBytes, at, receivedMs, path, extra];
        bulk.hold.run(episodeId, JSON.stringify(row));
        return;
      }
      const p = bulk.pending;
      let k = bulk.held;
      p[k++] = episodeId;
      p[k++] = hostId;
      p[k++] = sha256;
      p[k++] = sizeBytes;
      p[k++] = storedAt;
      p[k++] = receivedMs;
      p[k++] = storedPath;
      p[k++] = extra;
      bulk.held = k;
      if (k === p.length) this.flushBulk(batch);
    } else {
      const classifier = this.classifying;
      const status = classifier?.status({ episodeId, hostId, sha256, sizeBytes, path }) ?? null;
      const info = this.insert.run(
        episodeId,
        hostId,
        sha256,
        sizeBytes,
        storedAt,
        receivedMs,
        storedPath,
        extra,
        status ?? 'unverified',
      );
      if (info.changes === 0) {
        this.bumpDuplicate.run(episodeId);
        batch.duplicates++;
        return;
      }
      batch.firstId ??= info.lastInsertRowid;
      if (status !== null) classifier?.inserted(Number(info.lastInsertRowid), hostId, status);
    }
    batch.inserted++;
    const size = sizeBytes ?? 0;
    batch.bytes += size;
    let h = batch.hosts.get(hostId);
    if (!h) {
      h = { episodes: 0, bytes: 0, lastMs: Number.NEGATIVE_INFINITY, lastText: null };
      batch.hosts.set(hostId, h);
    }
    h.episodes++;
    h.bytes += size;
    // The newest received time as its text (the greatest text, as texts compare): a canonical
    // text of years 0000–9999 sorts as its instant does, so those are compared as numbers and
    // formatted once, at the end of the batch.
    const ms = receivedMs as number;
    if (derived && ms >= ORDERED_MIN_MS && ms <= ORDERED_MAX_MS) {
      if (ms > h.lastMs) h.lastMs = ms;
    } else {
      const text = derived ? isoFromMs(ms) : (receivedAt as string | null);
      if (text !== null && (h.lastText === null || text > h.lastText)) h.lastText = text;
    }
  }

  /**
   * A bulk load's rows held for one multi-row insert (BULK_INSERT_ROWS), inserted now: when they
   * are that many, and at the end of each batch (the rest one by one).
   */
  private flushBulk(batch: RowBatch): void {
    const bulk = this.bulk;
    if (bulk === null || bulk.held === 0) return;
    const p = bulk.pending;
    const rows = bulk.held / EPISODE_COLUMN_COUNT;
    let last: number | bigint = 0;
    // The values as arguments, not as one array: better-sqlite3 reads an array's elements by
    // generic property lookups (offline, 456k python rows: ≈ 0.72 s of writer CPU with the array,
    // ≈ 0.60 s spread).
    if (rows === BULK_INSERT_ROWS) last = bulk.insertMany.run(...p).lastInsertRowid;
    else {
      for (let i = 0; i < bulk.held; i += EPISODE_COLUMN_COUNT) {
        last = bulk.insert.run(...p.slice(i, i + EPISODE_COLUMN_COUNT)).lastInsertRowid;
      }
    }
    // One statement's rows take consecutive ids (appended to the table, no other writer).
    batch.firstId ??= Number(last) - rows + 1;
    bulk.held = 0;
  }

  private end(batch: RowBatch, checkpoint: Checkpoint | null): EpisodeBatchResult {
    this.flushBulk(batch);
    for (const [host, h] of batch.hosts) {
      let last = h.lastMs === Number.NEGATIVE_INFINITY ? null : isoFromMs(h.lastMs);
      if (h.lastText !== null && (last === null || h.lastText > last)) last = h.lastText;
      this.upsertHost.run(host, h.episodes, h.bytes, last);
    }
    if (batch.firstId !== null) this.noteBatch(batch.firstId, batch.now);
    this.addCounter('total_episodes', batch.inserted);
    this.addCounter('total_bytes', batch.bytes);
    this.addCounter('duplicate_lines', batch.duplicates);
    if (checkpoint) this.writeCheckpoint('index', checkpoint);
    return { inserted: batch.inserted, duplicates: batch.duplicates };
  }
}

/** The columns `addRow` gives an episode row, in the order of its values (bound), then first_seen_at. */
const EPISODE_INSERT_COLUMNS = [
  'episode_id',
  'host_id',
  'sha256',
  'size_bytes',
  'received_at',
  'received_ms',
  'path',
  'extra',
] as const;
const EPISODE_COLUMN_COUNT = EPISODE_INSERT_COLUMNS.length;
// first_seen_at is always '' here: written in the SQL rather than bound, one value fewer per row
// for the binding to convert (a bulk load binds a million rows).
const EPISODE_VALUES = `(${EPISODE_INSERT_COLUMNS.map(() => '?').join(', ')}, '')`;
/**
 * An episode row as the index gives it (`addRow`'s columns): with `ON CONFLICT` for a table with
 * its key, bare during a bulk load (no key to conflict with).
 */
const INSERT_EPISODE = `INSERT INTO episodes (${EPISODE_INSERT_COLUMNS.join(', ')}, first_seen_at) VALUES ${EPISODE_VALUES}`;

/**
 * Rows a bulk load inserts with one statement: one call into SQLite per row was ≈ 15% of the
 * rows' CPU (offline, the 1M-line foreign root's rows: ≈ 2.2 s one by one, ≈ 1.85 s 32 at once).
 */
const BULK_INSERT_ROWS = 32;

/** The writer's own scanner, for first-pass lines with more than the fast columns carry. */
const rowScanner = new JsonLineScanner(INDEX_FIELDS);

/** A bulk load's own insert (no key to conflict with), how it tells repeats, and where it holds them. */
interface BulkLoad {
  /** Id hashes of the load's rows, when it began with record batches (`startBulk`); else null. */
  ids: IdHashSet | null;
  /** True once a line was told a repeat or not by its batch's marks (`duplicateAt`). */
  marked: boolean;
  insert: Database.Statement<unknown[]>;
  /** BULK_INSERT_ROWS rows at once, from `pending` (their values in order). */
  insertMany: Database.Statement<unknown[]>;
  /**
   * Values of the rows held for `insertMany`, the first `held` of them in use: one array of
   * BULK_INSERT_ROWS rows' values for the load, written in place (emptied and grown again per
   * statement it was ≈ 1 % of the writer's CPU, growing its elements).
   */
  pending: unknown[];
  held: number;
  hold: Database.Statement<unknown[]>;
}

/** A held line's columns after its id (`bulk_repeats.row`). */
type HeldRow = [
  string,
  string | null,
  number | null,
  string | null,
  number | null,
  string | null,
  string | null,
];

interface RowBatch {
  now: string;
  /** Per host: rows, bytes, and the newest received time (see `addRow`). */
  hosts: Map<string, { episodes: number; bytes: number; lastMs: number; lastText: string | null }>;
  inserted: number;
  duplicates: number;
  bytes: number;
  /** Row id of the batch's first new row (`episode_batches`). */
  firstId: number | bigint | null;
}

/** `addRow`'s `receivedAt` when it is the canonical text of the row's received time. */
const DERIVED = Symbol('derived received_at');

/** `path` as stored for a line whose path is its default place (schema.ts EPISODE_PATH). */
const DEFAULT_PATH_MARK = Buffer.alloc(0);

/** Instants whose canonical texts (years 0000–9999, fixed width) sort as the instants do. */
const ORDERED_MIN_MS = -62_167_219_200_000;
const ORDERED_MAX_MS = 253_402_300_799_999;

/** Notes a batch's commit time against its first new row (`episode_batches`). */
function batchNoter(db: Db): (firstId: number | bigint, at: string) => void {
  // Prepared on first use, as `checkpointWriter`.
  let stmt: Database.Statement<unknown[]> | null = null;
  return (firstId, at) => {
    stmt ??= db.prepare('INSERT OR REPLACE INTO episode_batches (first_id, first_seen_at) VALUES (?, ?)');
    stmt.run(firstId, at);
  };
}

/** A first-pass range as typed columns (the 'index_columns' batch without its envelope). */
export interface EpisodeColumns {
  bytes: Uint8Array;
  count: number;
  status: Uint8Array;
  host: Uint32Array;
  hosts: readonly string[];
  size: Float64Array;
  receivedMs: Float64Array;
  rows: Int32Array;
  spans: Uint16Array;
  texts: ReadonlyArray<{ index: number; line: string }>;
  /** Indexes of valid lines that repeat an id (the first pass's duplicate check), ascending. */
  duplicateAt: readonly number[];
}

/** Writes alert records with their checkpoint in one transaction. */
export class AlertStore {
  private readonly insert;
  private readonly addToGroup;
  private readonly addCounter;
  private readonly writeCheckpoint;
  private readonly tx;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO alerts (host_id, symptom, detail, suggested_fix, detected_at, detected_ms, dedup_key, extra)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.addToGroup = db.prepare(ADD_TO_ALERT_GROUP);
    this.addCounter = counterAdder(db);
    this.writeCheckpoint = checkpointWriter(db);
    this.tx = db.transaction((records: AlertRecord[], checkpoint: Checkpoint | null) => {
      for (const a of records) {
        const row = alertRow(a);
        const id = this.insert.run(...row).lastInsertRowid;
        // Its group's counts, in the same transaction (alert-groups.ts).
        if (a.dedup_key !== null) {
          this.addToGroup.run({
            dedupKey: a.dedup_key,
            hostId: a.host_id,
            symptom: a.symptom,
            id,
            at: a.detected_at,
          });
        }
      }
      this.addCounter('total_alerts', records.length);
      if (checkpoint) this.writeCheckpoint('alerts', checkpoint);
    });
  }

  writeBatch(records: AlertRecord[], checkpoint: Checkpoint | null): void {
    this.tx.immediate(records, checkpoint);
  }
}

/**
 * An alert's values for the `alerts` table's columns (host_id, symptom, detail, suggested_fix,
 * detected_at, detected_ms, dedup_key, extra), in that order: one mapping for every writer of the
 * table (this store, and a scale-out replica, which adds its `receiver` column after them).
 */
export function alertRow(
  a: AlertRecord,
): [
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  number | null,
  string | null,
  string | null,
] {
  return [
    a.host_id,
    a.symptom,
    a.detail,
    a.suggested_fix,
    a.detected_at,
    timestampMs(a.detected_at),
    a.dedup_key,
    a.extra ? JSON.stringify(a.extra) : null,
  ];
}
