import { Worker } from 'node:worker_threads';
import type { IngestEntry, IngestProjection } from '../bus/ingest-log.js';
import type { SharedFd } from '../feeders/first-pass.js';
import { markCatalogCorrupt } from '../state/catalog-file.js';
import { type StorageFault, storageFault } from '../state/errors.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { STOP_DEADLINE_MS } from '../util/stop-budget.js';
import type { SourceName } from './ingest-store.js';
import {
  type PersistBatch,
  type PersistCommand,
  type PersistMessage,
  type PersistWorkerData,
  STOP_WORD,
  STOP_WORDS,
} from './persist-protocol.js';
import { takePrestartedWriter, writerFile } from './writer-prestart.js';

export interface PersisterStats {
  committed_lines: Record<SourceName, number>;
  inserted_total: Record<SourceName, number>;
  duplicates_total: number;
  /** Batches handed to the writer (or held for it during a cold first pass) and not committed yet. */
  pending_batches: number;
  running: boolean;
  fault: CatalogFault | null;
}

/** Why the catalog cannot be written right now (the writer retries; cleared by its next commit). */
export interface CatalogFault {
  fault: StorageFault;
  /** SQLite's or the system's own words. */
  message: string;
  /** ISO-8601 time of the first failure of this run of failures. */
  since: string;
}

/**
 * Bytes the writer may have queued before the reader waits for it: a restart's backlog, read
 * line by line, runs this far ahead of SQLite (and is held in memory meanwhile).
 * @default 64 MiB
 */
export const DEFAULT_WINDOW_BYTES = 64 * 1024 * 1024;

/**
 * The same for a cold first pass's ranges (bytes and columns): the live state must not wait for
 * the catalog, which may lag behind it (a 1M-line index, ≈ 220 MB of Python-style lines, is read
 * in ≈ 1–2 s and committed in a few more), so the reader only waits past this much — a bound on
 * memory for indexes of many millions of lines.
 * @default 256 MiB
 */
export const COLD_WINDOW_BYTES = 256 * 1024 * 1024;

/*
 * COLD_HOLD: a cold first pass's batches are kept from the writer until the pass is over (or the
 * cold window fills). Beside the pass the writer only competed for the two cores: at nice 10 it
 * still took ≈ 0.25 s of CPU during a 1M-line mixed pass, and its code's compiles run on V8's
 * helper threads at full priority. Measured (8 alternating server starts on it): the pass's
 * median 1.148 → 1.058 s. The price is the catalog's: its rows start when the pass ends, and a
 * 1M-line catalog was complete ≈ 0.3 s later (compact, 5 alternating: median 5.3 → 5.6 s).
 * Every range is then read again after the pass (it mostly was before: the writer lagged), so a
 * copytruncate then relies on the copy beside the index (persist-worker.ts) for all of them. An
 * alerts batch during the pass is weighed against the live window with the held pass counted,
 * so past 64 MiB held it ends the hold early: the writer just starts sooner.
 */

/**
 * How long a stopping writer goes on committing what is queued: the most the stop's deadline
 * allows, less a second for the transaction it is in and its close. Everything else of the stop
 * runs beside it (util/stop-budget.ts). Not less: what it skips the next start reads and commits
 * again from the last checkpoint. A cold bulk load is the exception: it stops after its first
 * commit, as the next start loads it again anyway (persist-worker.ts `cutShort`).
 */
const WRITER_SKIP_MS = STOP_DEADLINE_MS - 1_000;

/** Bytes a record line is counted as in the window (a receiver line is about 200–300 bytes). */
const LINE_WEIGHT = 256;

/**
 * Live batches (the tailer's, after catch-up) are held this long and committed as one
 * transaction: each commit writes every page it touched to the write-ahead log — ≈ 60 pages of
 * 16 KiB for ten rows, most of them leaves of the indexes keyed at random (id, sha256, size) and
 * of the per-host ones —, so one commit per 0.1 s snapshot cycle of ten lines cost the writer
 * ≈ 1.9 ms of CPU a cycle (76k-row catalog, `bench/steady-split.mjs`). Held 250 ms: ≈ 1.3 ms;
 * 500 ms: ≈ 1.0 ms; 1 s: ≈ 0.9 ms (the random leaves still cost a page each per row). The
 * explorer lags the live state by at most this much; the live state and the WebSocket do not wait
 * for the catalog, and each commit still carries the checkpoint of its last line.
 */
export const LIVE_COMMIT_MS = 500;
/** Held live lines that are committed at once, whatever the time (a burst is not held). */
const LIVE_COMMIT_LINES = 2000;
/**
 * A restart's backlog (record batches the tailer reads line by line, ≈ 64 KiB each) is committed in
 * transactions of this many lines, not one per read. Each commit writes every page it dirtied to
 * the write-ahead log, and a row dirties a leaf at a random place in each index keyed at random
 * (id, sha256, size, host): ≈ 180 rows a commit wrote ≈ 16 MB (the writer wrote 6 GB in 25 s).
 * Measured on a restart after a 1M-line foreign-root cold start was stopped at 2.5 s (462k rows
 * in; load 6–7 from other work, so ±10 s): catalog complete 87 s with one commit a read, 55 s
 * with 20,000-line commits (ready 46 → 36 s). A 64 MiB writer cache for the backlog made it 40 s
 * but took a restart past the fault suite's 400 MiB peak RSS bound (test/faults/sigkill.test.ts:
 * 440 MB), so the writer keeps its live cache. Each held line is memory of the main thread.
 */
const BACKLOG_COMMIT_LINES = 20_000;

/** Live batches of one source held to be committed together (`LIVE_COMMIT_MS`). */
type HeldBatch = Extract<PersistBatch, { type: 'episodes' } | { type: 'alerts' }>;

/**
 * The catalog projection of the ingest log: hands each batch to the writer thread, which commits
 * it with its checkpoint in one transaction. Batches are sent in log order and committed in that
 * order; past `windowBytes` queued the reader is held (a promise from `apply`).
 */
export class CatalogPersister implements IngestProjection {
  private worker: Worker | null = null;
  private readonly committed: Record<SourceName, number> = { index: 0, alerts: 0 };
  private readonly inserted: Record<SourceName, number> = { index: 0, alerts: 0 };
  private duplicates = 0;
  private sentSeq = 0;
  private committedSeq = 0;
  private queuedBytes = 0;
  private readonly bytesBySeq = new Map<number, number>();
  private roomWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private stopping: Promise<void> | null = null;
  private readonly faults: Record<SourceName, CatalogFault | null> = { index: null, alerts: null };
  /** Seq of a first pass's end: the writer is renewed once it is committed and nothing else is queued. */
  private renewAfterSeq: number | null = null;
  /**
   * Descriptors a cold start's ranges (of the index or the alerts) are read through again by the
   * writer: one reference per batch, released once that batch is committed (or the writer is gone).
   */
  private rangeFiles: Array<{ seq: number; file: SharedFd }> = [];
  /** Live batches not handed to the writer yet, merged (one source), and their window bytes. */
  private held: HeldBatch | null = null;
  private heldBytes = 0;
  private heldTimer: NodeJS.Timeout | null = null;
  /** Seq of the last live batch handed to the writer (what `commitHeld` waits for). */
  private liveSentSeq = 0;
  /**
   * A cold first pass's batches (and whatever the log appends meanwhile, in order), kept from the
   * writer until the pass is over (`COLD_HOLD`): 'before' no pass began, 'holding' during one,
   * 'over' once they went (the pass ended, the cold window filled, or someone waits for a commit).
   */
  private cold: 'before' | 'holding' | 'over' = 'before';
  private coldHeld: Array<{ batch: PersistBatch; transfer: ArrayBuffer[] }> = [];
  /** The stop's words for the writer (STOP_WORD): requested at once, skip after WRITER_SKIP_MS. */
  private readonly stopSkip = new Int32Array(
    new SharedArrayBuffer(STOP_WORDS * Int32Array.BYTES_PER_ELEMENT),
  );

  constructor(
    private readonly data: PersistWorkerData,
    private readonly logger: Logger,
    private readonly windowBytes = DEFAULT_WINDOW_BYTES,
    /**
     * Each commit's transaction time (the catalog commit histogram), and whether it left the
     * integrity verifier work (`PersistMessage` 'committed').
     */
    private readonly observeCommit: (
      source: SourceName,
      seconds: number,
      verifierWork: boolean,
    ) => void = () => {},
    private readonly coldWindowBytes = COLD_WINDOW_BYTES,
  ) {}

  start(): void {
    this.worker = this.spawn();
  }

  /** The writer thread's id (null: none running), e.g. to tell a prestarted writer was taken. */
  get writerThreadId(): number | null {
    return this.worker?.threadId ?? null;
  }

  private spawn(): Worker {
    const data: PersistWorkerData = { ...this.data, stopSkip: this.stopSkip.buffer as SharedArrayBuffer };
    const worker = takePrestartedWriter(data) ?? new Worker(writerFile(), { workerData: data });
    worker.on('message', (m: PersistMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      // The thread is gone: a storage cause stays reported (no commit will clear it) until restart.
      const fault = storageFault(err);
      if (fault) this.setFault('index', fault, errorMessage(err));
      this.logger.error({ err }, 'catalog writer failed');
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return; // a renewed writer's predecessor
      this.worker = null;
      if (code !== 0 && !this.stopping) this.logger.error({ code }, 'catalog writer exited');
      // Nothing more will commit: release whoever waits, the first pass's file, and what was held
      // for the writer (no one will take it).
      this.cold = 'over';
      this.coldHeld = [];
      this.releaseFiles();
      this.wake(this.roomWaiters);
      this.wake(this.idleWaiters);
    });
    return worker;
  }

  /**
   * After a cold bulk load the writer's heap holds what parsing a million lines left behind (tens
   * of MB it keeps for good): a fresh writer takes over, the old one closes and its heap goes.
   * Only when idle, so batches still commit in order.
   */
  private renew(): void {
    const old = this.worker;
    if (!old || this.stopping) return;
    this.worker = this.spawn();
    old.postMessage({ type: 'stop' } satisfies PersistCommand);
  }

  apply(entry: IngestEntry): void | Promise<void> {
    const worker = this.worker;
    if (!worker || this.stopping) return;
    if (entry.source === 'index' && entry.kind === 'first_pass_done') this.renewAfterSeq = entry.seq;
    if (entry.kind === 'compact' && entry.raw.kind === 'range') {
      entry.raw.file.retain();
      this.rangeFiles.push({ seq: entry.seq, file: entry.raw.file });
    }
    if (entry.source === 'index' && entry.kind === 'compact' && this.cold === 'before') this.cold = 'holding';
    const { batch, transfer } = toPersistBatch(entry);
    const bytes = weight(entry, transfer);
    this.sentSeq = entry.seq;
    if (bytes > 0) this.queuedBytes += bytes;
    if (entry.kind === 'records' && (batch.type === 'episodes' || batch.type === 'alerts'))
      this.hold(batch, bytes, entry.bulk === true ? BACKLOG_COMMIT_LINES : LIVE_COMMIT_LINES);
    else {
      this.flushHeld();
      if (bytes > 0) this.bytesBySeq.set(entry.seq, bytes);
      this.post(batch, transfer);
    }
    if (batch.type === 'first_pass_done') this.releaseCold();
    // Only what adds to the queue waits (the end of a first pass does not wait for its ranges).
    if (bytes === 0) return;
    if (this.queuedBytes <= (entry.kind === 'compact' ? this.coldWindowBytes : this.windowBytes)) return;
    // What waits for room must not wait for the timer or the pass's end too.
    this.flushHeld();
    this.releaseCold();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * A cold first pass of the index is coming (the catalog is empty): what the log carries before its
   * first range — a cold start's `alerts.jsonl` ranges, read beside it — is held with its batches
   * (`COLD_HOLD`) rather than written beside the pass. Its `first_pass_done` always comes (a missing
   * or empty index ends the pass as well), or the stop hands everything over.
   */
  holdForFirstPass(): void {
    if (this.cold === 'before') this.cold = 'holding';
  }

  /** Hands a batch to the writer, in log order: kept back while a cold first pass runs (`COLD_HOLD`). */
  private post(batch: PersistBatch, transfer: ArrayBuffer[] = []): void {
    if (this.cold === 'holding') this.coldHeld.push({ batch, transfer });
    else this.worker?.postMessage(batch, transfer);
  }

  /** The first pass's batches kept back go to the writer now (once: later ones go as they come). */
  private releaseCold(): void {
    if (this.cold !== 'holding') return;
    this.cold = 'over';
    const held = this.coldHeld;
    this.coldHeld = [];
    for (const { batch, transfer } of held) this.post(batch, transfer);
  }

  /**
   * Adds a record batch to the held one (merged when of the same source), committed within
   * LIVE_COMMIT_MS or once it holds `lines`.
   */
  private hold(batch: HeldBatch, bytes: number, lines: number): void {
    const held = this.held;
    if (held !== null && held.type !== batch.type) this.flushHeld();
    this.held = this.held === null ? batch : merge(this.held, batch);
    this.heldBytes += bytes;
    if (this.held.lines >= lines) this.flushHeld();
    else if (this.heldTimer === null) {
      this.heldTimer = setTimeout(() => this.flushHeld(), LIVE_COMMIT_MS);
      this.heldTimer.unref();
    }
  }

  /** Hands the held live batches to the writer as one. */
  private flushHeld(): void {
    if (this.heldTimer !== null) {
      clearTimeout(this.heldTimer);
      this.heldTimer = null;
    }
    const held = this.held;
    if (held === null) return;
    this.held = null;
    if (this.heldBytes > 0) this.bytesBySeq.set(held.seq, this.heldBytes);
    this.heldBytes = 0;
    this.liveSentSeq = held.seq;
    this.post(held);
  }

  /** Resolves once everything handed to the writer so far is committed. */
  whenIdle(): Promise<void> {
    this.flushHeld();
    this.releaseCold();
    return this.whenCommitted(this.sentSeq);
  }

  /**
   * Hands the live lines held for the catalog (`LIVE_COMMIT_MS`) to the writer now and resolves once
   * every live line read so far is committed — at once when they are. An explorer or alerts query
   * waits for this, so it sees the rows of every live event a client was sent (a click on the
   * explorer's "N new" banner lists them). A cold first pass's ranges are not waited for.
   */
  commitHeld(): Promise<void> {
    this.flushHeld();
    // A live line kept back with a first pass's batches: they go now, not at the pass's end.
    if (this.liveSentSeq > this.committedSeq) this.releaseCold();
    return this.whenCommitted(this.liveSentSeq);
  }

  private whenCommitted(target: number): Promise<void> {
    if (this.committedSeq >= target || !this.worker) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.committedSeq >= target || !this.worker) resolve();
        else this.idleWaiters.push(check);
      };
      check();
    });
  }

  stats(): PersisterStats {
    return {
      committed_lines: { ...this.committed },
      inserted_total: { ...this.inserted },
      duplicates_total: this.duplicates,
      pending_batches: this.sentSeq - this.committedSeq,
      running: this.worker !== null,
      fault: this.fault,
    };
  }

  /** Why commits fail right now, or null when the last one succeeded. */
  get fault(): CatalogFault | null {
    return this.faults.index ?? this.faults.alerts;
  }

  private setFault(source: SourceName, fault: StorageFault, message: string): void {
    if (this.faults[source]?.fault === fault) return;
    const known = this.fault;
    const current: CatalogFault = { fault, message, since: known?.since ?? new Date().toISOString() };
    this.faults[source] = current;
    if (known?.fault === fault) return;
    this.logger.error(
      { stateDir: this.data.stateDir, fault, message },
      `the catalog in ${this.data.stateDir} cannot be written (${message}): /readyz answers 503 and the explorer an error until it can; retrying`,
    );
    // A corrupt catalog does not heal by retrying: the next start sets it aside and rebuilds it.
    if (fault === 'corrupt' && !markCatalogCorrupt(this.data.stateDir, message)) {
      this.logger.warn('cannot mark the catalog corrupt for the next start');
    }
  }

  /**
   * Lets the writer commit what it was handed for up to WRITER_SKIP_MS (a cold bulk load: its
   * first batch), then has it skip the rest (`stopSkip`), closes its database; resolves when it
   * exited. What it skips is not lost: every
   * commit carries its checkpoint, so the next start reads on from the last one (as after a
   * SIGKILL). A cold first pass still held (`COLD_HOLD`) is handed over too: a checkpoint
   * committed now lets the next start follow the index through rotations made while stopped (a
   * start with none reads only the file at the path). Before, the stop waited for the writer up
   * to 4 s after everything else, and a SIGTERM during a 1M-line cold start took 7.6–8.9 s.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.flushHeld();
    this.releaseCold();
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopping = new Promise<void>((resolve) => {
      Atomics.store(this.stopSkip, STOP_WORD.requested, 1);
      const skip = setTimeout(() => Atomics.store(this.stopSkip, STOP_WORD.skip, 1), WRITER_SKIP_MS);
      // Past the deadline the process gives up anyway; the thread's transaction is rolled back.
      const timer = setTimeout(() => {
        this.logger.warn('catalog writer did not stop within 5 s; terminating it');
        void worker.terminate();
      }, STOP_DEADLINE_MS);
      worker.once('exit', () => {
        clearTimeout(skip);
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ type: 'stop' } satisfies PersistCommand);
    });
    return this.stopping;
  }

  /** The range descriptors of batches up to `seq` (committed; every one when the writer is gone). */
  private releaseFiles(seq = Number.POSITIVE_INFINITY): void {
    if (this.rangeFiles.length === 0) return;
    const done = this.rangeFiles.filter((f) => f.seq <= seq);
    this.rangeFiles = this.rangeFiles.filter((f) => f.seq > seq);
    for (const { file } of done) file.release();
  }

  private wake(waiters: Array<() => void>): void {
    for (const w of waiters.splice(0)) w();
  }

  private onMessage(m: PersistMessage): void {
    switch (m.type) {
      case 'committed': {
        if (this.faults[m.source]) {
          this.faults[m.source] = null;
          if (!this.fault)
            this.logger.info({ stateDir: this.data.stateDir }, 'the catalog can be written again');
        }
        this.committed[m.source] += m.lines;
        this.inserted[m.source] += m.inserted;
        this.duplicates += m.duplicates;
        this.observeCommit(m.source, m.seconds, m.verifierWork);
        this.committedSeq = m.seq;
        const bytes = this.bytesBySeq.get(m.seq);
        if (bytes !== undefined) {
          this.bytesBySeq.delete(m.seq);
          this.queuedBytes -= bytes;
          if (this.queuedBytes <= this.windowBytes) this.wake(this.roomWaiters);
        }
        this.releaseFiles(m.seq);
        if (
          this.renewAfterSeq !== null &&
          m.seq >= this.renewAfterSeq &&
          this.committedSeq === this.sentSeq
        ) {
          this.renewAfterSeq = null;
          this.renew();
        }
        this.wake(this.idleWaiters);
        break;
      }
      case 'fault':
        this.setFault(m.source, m.fault, m.message);
        break;
      case 'error':
        this.logger.error(
          { seq: m.seq, message: m.message },
          'catalog writer cannot commit a batch; retrying',
        );
        break;
      case 'stopped':
        break;
      default: {
        const _exhaustive: never = m;
      }
    }
  }
}

/** Two held batches of one source as one: records in order, the later checkpoint. */
function merge(a: HeldBatch, b: HeldBatch): HeldBatch {
  if (a.type === 'episodes' && b.type === 'episodes') {
    // Repeats are applied after the batch's inserts: a repeat of an id inserted earlier in the
    // merged batch finds its row either way.
    return {
      ...b,
      records: a.records.concat(b.records),
      duplicateIds: a.duplicateIds.concat(b.duplicateIds),
      lines: a.lines + b.lines,
    };
  }
  if (a.type === 'alerts' && b.type === 'alerts')
    return { ...b, records: a.records.concat(b.records), lines: a.lines + b.lines };
  throw new Error('merge: batches of two sources');
}

/**
 * What an entry weighs in the window: raw bytes what they are; record lines (a restart's backlog
 * read line by line) by their count, so a slow writer holds back the reader either way.
 */
function weight(entry: IngestEntry, transfer: ArrayBuffer[]): number {
  if (transfer.length > 0) return transfer.reduce((n, b) => n + b.byteLength, 0);
  if (entry.kind === 'records') return entry.lines * LINE_WEIGHT;
  if (entry.kind === 'compact' && entry.raw.kind === 'lines') return entry.raw.lines.length * LINE_WEIGHT;
  return 0;
}

/** The writer's copy of a log entry, and the buffers moved (not copied) to its thread. */
function toPersistBatch(entry: IngestEntry): { batch: PersistBatch; transfer: ArrayBuffer[] } {
  const { seq } = entry;
  if (entry.source === 'alerts' && entry.kind === 'compact') {
    // The rows come as the range's place in the file: the writer reads them through the descriptor.
    const { raw, lines, checkpoint } = entry;
    const { fileOffset, length } = raw;
    return {
      batch: { type: 'alerts_range', seq, fd: raw.file.fd, fileOffset, length, lines, checkpoint },
      transfer: [],
    };
  }
  if (entry.source === 'alerts') {
    const { records, lines, checkpoint } = entry;
    return { batch: { type: 'alerts', seq, records, lines, checkpoint }, transfer: [] };
  }
  if (entry.kind === 'first_pass_done') return { batch: { type: 'first_pass_done', seq }, transfer: [] };
  if (entry.kind === 'records') {
    const { records, duplicateIds, lines, checkpoint } = entry;
    return { batch: { type: 'episodes', seq, records, duplicateIds, lines, checkpoint }, transfer: [] };
  }
  const { raw, checkpoint, batch: b } = entry;
  const duplicateAt = [...entry.duplicateAt];
  if (raw.kind === 'lines')
    return { batch: { type: 'index_lines', seq, lines: raw.lines, duplicateAt, checkpoint }, transfer: [] };
  // The reader reuses its columns for the next range: the writer gets its own copies, moved to
  // it (unless they are the entry's own). The bytes it reads again through the pass's descriptor
  // (retained by `apply`).
  // Columns the entry owns (the first pass's scanner thread made them) move as they are: the live
  // state, subscribed before the writer, is done with them when this runs.
  const own = entry.ownColumns === true;
  const columns = {
    status: own ? b.status : b.status.slice(),
    host: own ? b.host : b.host.slice(),
    size: own ? b.size : b.size.slice(),
    receivedMs: own ? b.receivedMs : b.receivedMs.slice(),
    rows: own ? b.rows : b.rows.slice(),
    spans: own ? b.spans : b.spans.slice(),
  };
  const transfer: ArrayBuffer[] = Object.values(columns).map((a) => a.buffer as ArrayBuffer);
  // The range comes as its place in the file only: the writer reads it through the descriptor.
  const { fileOffset, length, file } = raw;
  const { count, hosts, texts } = b;
  return {
    batch: {
      type: 'index_columns',
      seq,
      count,
      hosts,
      texts,
      duplicateAt,
      checkpoint,
      fileOffset,
      length,
      ...columns,
      fd: file.fd,
    },
    transfer,
  };
}
