/**
 * The catalog writer thread: a projection of the ingest log that only writes. The main thread is
 * the one reader of every source file; it hands each batch here (records it accepted, or a
 * first-pass range's bytes) with the checkpoint that covers it, and every batch is written with
 * its checkpoint in one transaction, so a restart resumes exactly after what was committed.
 * SQLite's cost runs on this thread, never on the live state's event loop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { alertRecordsOfRange } from '../feeders/alert-scan.js';
import { MAX_LINE_BYTES } from '../feeders/index-ranges.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import { storageFault } from '../state/errors.js';
import { errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import { readAt, startsAs } from './file-head.js';
import { AlertStore, type EpisodeBatchResult, EpisodeStore } from './ingest-store.js';
import {
  type PersistBatch,
  type PersistCommand,
  type PersistMessage,
  type PersistWorkerData,
  type PrestartedWriterData,
  STOP_WORD,
  STOP_WORDS,
  WRITER_HANDOVER,
} from './persist-protocol.js';
import { BULK_LOAD_TABLE, dropEpisodeIndexesForLoad, ensureEpisodeIndexes, UNSYNCED_LOAD } from './schema.js';
import { SpareCores } from './spare-cores.js';

const port = parentPort;
if (!port) throw new Error('persist-worker must run in a worker thread');
const post = (m: PersistMessage) => port.postMessage(m);

/**
 * This thread's nice value: the live state (the main thread) goes first when both want a CPU, so
 * the catalog lags on a busy machine rather than the first pass or the WebSocket sends (measured:
 * at load 15 on two cores the first pass took 14–16 s beside an equal-priority writer). Not 19:
 * the writer holds SQLite's write lock while it commits, and the verifier waits for that lock.
 */
const WRITER_NICE = 10;
try {
  // Linux: /proc/thread-self names this thread's id; setpriority(2) takes a thread id there.
  const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, WRITER_NICE);
} catch {
  // Elsewhere (or not permitted) the writer runs at the process's priority.
}

/**
 * This thread's data: given at its start, or — a writer started ahead of need, while the server
 * was still loading (`prestartCatalogWriter`) — posted to it once the pipeline is built. Waited for
 * here, blocking: the thread has nothing else to do, the module reads on as if it had been given
 * at the start, and no batch can arrive before its handler is there (a prestarted writer's
 * modules are loaded by now, which is what starting it early was for).
 */
function writerData(given: PersistWorkerData | PrestartedWriterData, from: MessagePort): PersistWorkerData {
  if (!('handover' in given)) return given;
  const handover = new Int32Array(given.handover);
  Atomics.wait(handover, 0, WRITER_HANDOVER.waiting);
  const posted = Atomics.load(handover, 0) === WRITER_HANDOVER.given ? receiveMessageOnPort(from) : undefined;
  // Released unused (the server needed no catalog writer, or it stopped first): the thread ends.
  if (!posted) process.exit(0);
  return posted.message as PersistWorkerData;
}
const data = writerData(workerData as PersistWorkerData | PrestartedWriterData, port);

const db = openDatabase(data.stateDir);
/**
 * A small page cache: misses are served by the OS page cache, and a large one left tens of MB in
 * this thread's malloc arena after a catch-up.
 */
const CACHE_KIB = 2048;
/**
 * The page cache while a cold bulk load inserts its rows. Measured while the load still kept the
 * table's inline unique id key (each row went into it at a random place; with 2 MiB of cache nearly
 * every insert read a leaf page from the OS and wrote a dirty one back to the log) — a load now
 * builds that key after its rows (schema.ts EPISODE_KEY_INDEX), and this size was not measured
 * again since. Offline, 1M python lines (load 9): ≈ 11.5–13.0 s CPU with 2 MiB,
 * ≈ 7.5 s with 16 MiB, ≈ 6.0–8.0 s with 64 MiB; in the server on the 1M-line foreign root (load
 * 8–9) the writer's CPU for the rows was ≈ 10.4 s with 16 MiB and ≈ 11.2 s with 64 MiB, and 64 MiB
 * left more memory in the process after (the freed pages stay in the thread's malloc arena). The
 * index builds after it run with the small cache again (a large one made SQLite's sorts slower:
 * ≈ 4.1 s against ≈ 7.7 s for the seven), and the pages are handed back first (`shrink_memory`).
 */
const BULK_CACHE_KIB = 16384;
/**
 * The page cache once live batches arrive (set with the first): each live commit puts a row into
 * a leaf at a random place in each of the three indexes keyed at random (the id key, sha256,
 * size), and through 2 MiB (128 pages of 16 KiB) nearly every one of those leaves, and the
 * interior pages above them, was read from the OS again. Steady state on the 1M-line python root
 * (`SETTLE_S=25 node bench/steady-split.mjs`, three pairs): 2,130–2,197 KiB read per 0.1 s cycle
 * with 2 MiB, 766–835 with 8 MiB, and this thread's CPU 2.5–2.8 against 2.1–2.3 ms a cycle. Given
 * back when the thread goes idle, as every connection's (db.ts).
 */
const LIVE_CACHE_KIB = 8192;
db.pragma(`cache_size = -${CACHE_KIB}`);
// The explorer's indexes exist, as this version defines them, whatever happened before (a bulk
// load cut short dropped them; an older version built others).
ensureEpisodeIndexes(db);
const episodes = new EpisodeStore(db);
if (data.dataRoot !== undefined) episodes.classifyLive(data.dataRoot);
// Lines a bulk load cut short held back (the key is there now).
episodes.applyHeld();
/** True while a cold first pass loads an empty table with its secondary indexes dropped. */
let bulkLoading = false;
/** Whether a batch of the index was committed since the bulk load began. */
let bulkCommitted = false;

/**
 * A cold first pass into an empty table: its secondary indexes go, and are built once its rows
 * are in — a sort, where keeping every index through a million inserts dirtied pages at random.
 * Meanwhile commits are not synced (`synchronous = OFF`: each checkpoint of the write-ahead log
 * waited for two fsyncs of 16 MB, ≈ 75 ms each here). A process crash loses nothing (every commit
 * is in the log); a power loss could damage what was not synced, so the load is marked in the
 * catalog (UNSYNCED_LOAD) until its files are synced at its end, and a start that finds the mark
 * checks the catalog first (state/state-dir.ts) and rebuilds it when damaged.
 */
function beginBulk(first: Checkpoint | null): void {
  if (bulkLoading || db.prepare('SELECT 1 FROM episodes LIMIT 1').get() !== undefined) return;
  db.transaction(() => {
    dropEpisodeIndexesForLoad(db);
    db.prepare('INSERT OR REPLACE INTO sync_state (name, value) VALUES (?, 1)').run(UNSYNCED_LOAD);
    // A load from byte 0 of the file at the path, noted until its end: a start that finds it cut
    // short loads that file again (bulk-load-reset.ts). One that began at a checkpoint (an earlier
    // run read only lines it rejected) may read rotated files first, which a cold load would not.
    if (first && db.prepare("SELECT 1 FROM checkpoints WHERE source = 'index'").get() === undefined) {
      db.exec(BULK_LOAD_TABLE);
      db.prepare(
        'INSERT OR REPLACE INTO bulk_load (id, dev, ino, fingerprint, fingerprint_len) VALUES (1, ?, ?, ?, ?)',
      ).run(first.dev, first.ino, first.fingerprint, first.fingerprintLen);
    }
  }).immediate();
  db.pragma('synchronous = OFF');
  db.pragma(`cache_size = -${BULK_CACHE_KIB}`);
  episodes.startBulk();
  bulkLoading = true;
}

/**
 * Sorter threads for the indexes a bulk load builds at its end (`PRAGMA threads`): SQLite sorts
 * and writes each index's runs on helpers while this thread reads the table and merges. A win only
 * when a core is free for them (the first pass is over by then, and nothing else of this process
 * is busy): on a busy machine the helpers (this thread's nice value) wait for a core while this one
 * waits for them, which made the builds slower at load 10–15; never on a single core.
 *
 * Whether a core is free is read from what other processes used over the last seconds of the load
 * (`SpareCores`), not from the load average, which counts this process's own threads (after a 1M-line
 * first pass it read above 1 on an idle two-core machine, so the helpers were never used). Measured
 * (1M python rows, forced, this thread's CPU for the builds, load 3.5–4 from other processes):
 * 3.51 and 3.58 s without helpers, 3.01 and 2.67 s with one, 2.57 and 2.41 s with two (the helpers
 * spend more beside it: offline 2.7 s of the writer's and 2.5 s of theirs against 3.7 s alone).
 * Earlier, forced on an idle machine: 2.80–3.02 s of wall for the builds against 3.09 s without.
 * Each helper is a core other processes left idle, beyond this thread's own: one on an idle
 * two-core machine.
 */
const BULK_SORT_THREADS = 2;
/** What other processes use of the cores still counted as idle (short bursts: a shell, a scrape). */
const SPARE_SLACK = 0.25;
const spareCores = new SpareCores();

function sortThreads(): number {
  const idle = spareCores.othersIdle();
  if (Number.isNaN(idle)) return 0;
  return Math.max(0, Math.min(BULK_SORT_THREADS, Math.floor(idle - 1 + SPARE_SLACK)));
}

/**
 * The catalog file is mapped into memory while a bulk load's indexes are built (`PRAGMA
 * mmap_size`; SQLite's ceiling here is 2 GiB): each build reads the whole table, and through a 2
 * MiB page cache every page was copied out of the OS page cache again. Offline on the 1M-line
 * foreign root's table (≈ 650 MB), the eight builds took ≈ 4.7 s of CPU against ≈ 5.9 s without.
 * Unmapped again right after (the mapped pages count in the process's RSS while mapped).
 */
const BUILD_MMAP_BYTES = 2 ** 31 - 2 ** 16;

function endBulk(): EpisodeBatchResult {
  if (!bulkLoading) return { inserted: 0, duplicates: 0 };
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.pragma('shrink_memory');
  db.pragma(`threads = ${sortThreads()}`);
  db.pragma(`mmap_size = ${BUILD_MMAP_BYTES}`);
  try {
    // The indexes the load dropped, built in one transaction (one sort each).
    ensureEpisodeIndexes(db);
  } finally {
    db.pragma('mmap_size = 0');
    db.pragma('threads = 0');
  }
  // The lines held back for want of the key (repeats, mostly).
  const held = episodes.endBulk();
  db.exec('DROP TABLE IF EXISTS bulk_load');
  db.pragma('synchronous = NORMAL');
  syncLoad();
  bulkLoading = false;
  return held;
}

/**
 * Everything a bulk load wrote unsynced (this run's, or a run's that was cut short), in the
 * catalog file and its log, reaches the disk; then the mark goes.
 */
function syncLoad(): void {
  for (const file of [db.name, `${db.name}-wal`]) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch {
      continue; // no log file (checkpointed away): nothing to sync there
    }
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  db.prepare('DELETE FROM sync_state WHERE name = ?').run(UNSYNCED_LOAD);
}
// A load cut short (the start checked the catalog): what it wrote is synced now.
if (db.prepare('SELECT 1 FROM sync_state WHERE name = ?').get(UNSYNCED_LOAD) !== undefined) syncLoad();
const alerts = new AlertStore(db);

const WRITE_ATTEMPTS = 10;
const RETRY_MS = 200;
const RETRY_MAX_MS = 2000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Reused for every first-pass range read here. */
let rangeBuffer = Buffer.alloc(0);

/**
 * A first-pass range, read again through the main thread's descriptor (kept open until the pass
 * is committed). A file cut short meanwhile (copytruncate during a cold start: the writer may
 * trail the first pass by many seconds) has the range's bytes in its copy: the file beside the
 * index that begins with the very bytes the plan fingerprinted and is long enough (the tailer's
 * identity rule) is read instead. Only when no such copy exists (removed, or compressed at once)
 * is the batch an error, and its lines are missing from the catalog.
 */
function readRange(
  fd: number,
  position: number,
  length: number,
  checkpoint: Checkpoint,
  /** The file's path, where its copy is looked for beside it; none: no copy is looked for. */
  filePath: string | undefined,
): Buffer {
  if (rangeBuffer.length < length) rangeBuffer = Buffer.allocUnsafe(length);
  let got = readAt(fd, rangeBuffer, position, length);
  if (got < length && filePath !== undefined) {
    const copy = findCopy(filePath, checkpoint, position + length);
    if (copy !== null) {
      const copyFd = fs.openSync(copy, 'r');
      try {
        got = readAt(copyFd, rangeBuffer, position, length);
      } finally {
        fs.closeSync(copyFd);
      }
    }
  }
  if (got < length) {
    throw new Error(
      `range ${position}+${length} of ${filePath ?? 'the file'} (first pass) could only be read to ${got} bytes: the file was cut short and no copy of it was found beside it`,
    );
  }
  return rangeBuffer.subarray(0, length);
}

/** The copy found for a fingerprint last time (a copytruncate leaves one for many ranges). */
let lastCopy: { fingerprint: string; path: string } | null = null;

/** A file beside `indexPath` holding the fingerprinted file's first `end` bytes, or null. */
function findCopy(indexPath: string, cp: Checkpoint, end: number): string | null {
  const matches = (file: string): boolean => {
    try {
      const fd = fs.openSync(file, 'r');
      try {
        if (!fs.fstatSync(fd).isFile() || fs.fstatSync(fd).size < Math.max(end, cp.fingerprintLen))
          return false;
        return startsAs(fd, cp);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return false;
    }
  };
  if (lastCopy?.fingerprint === cp.fingerprint && matches(lastCopy.path)) return lastCopy.path;
  const dir = path.dirname(indexPath);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    if (file === indexPath || !matches(file)) continue;
    lastCopy = { fingerprint: cp.fingerprint, path: file };
    return file;
  }
  return null;
}

/**
 * Pages of write-ahead log after which a live commit copies the log into the catalog (SQLite's
 * automatic checkpoint; its default is 1,000). A live commit of a 0.5 s window (≈ 50 lines) writes
 * ≈ 100–200 pages of 16 KiB: a leaf of each index keyed at random per row, and the same tail pages
 * of the ones that grow per host, per status, per sha256 group and in time order, which every
 * commit writes again. Each checkpoint copies every page the log holds once (a read, a write, a
 * sync), so between fewer checkpoints those tail pages are copied once for many commits. Offline,
 * 50-line commits on a 1M-row catalog (`cache_size` 2 MiB, as live then): ≈ 1.05 ms of this thread per 0.1 s
 * of lines at 1,000 pages, ≈ 0.85 at 4,000 (3.5 → 3.2 MB written a commit), no better at 16,000.
 * The log file then grows to ≈ 64 MB before it is reused. Set at the first live batch: a cold
 * bulk load keeps SQLite's default. The main thread's connection never checkpoints
 * (pipeline.ts), so none of this lands on its event loop.
 */
const LIVE_WAL_AUTOCHECKPOINT = 4000;
/** Whether the live settings (LIVE_WAL_AUTOCHECKPOINT, LIVE_CACHE_KIB) are in force: set with the first live batch. */
let liveSettings = false;

/** Commits one batch; returns the 'committed' message without its time (the caller measures it). */
function write(batch: PersistBatch): Omit<Extract<PersistMessage, { type: 'committed' }>, 'seconds'> {
  switch (batch.type) {
    case 'episodes': {
      // Records carry no repeat marks: a bulk load that took its repeats from marks builds its
      // key first (not met in a server: record batches follow the first pass's end).
      const held = episodes.marked ? endBulk() : { inserted: 0, duplicates: 0 };
      if (!liveSettings && !bulkLoading) {
        db.pragma(`wal_autocheckpoint = ${LIVE_WAL_AUTOCHECKPOINT}`);
        db.pragma(`cache_size = -${LIVE_CACHE_KIB}`);
        liveSettings = true;
      }
      const r = episodes.writeBatch(batch.records, batch.checkpoint, batch.duplicateIds);
      return {
        type: 'committed',
        source: 'index',
        seq: batch.seq,
        lines: batch.lines,
        inserted: r.inserted + held.inserted,
        duplicates: r.duplicates + held.duplicates,
        verifierWork: episodes.leftVerifierWork || held.inserted > 0,
      };
    }
    case 'index_lines': {
      beginBulk(batch.checkpoint);
      const r = episodes.writeLines(batch.lines, batch.duplicateAt, batch.checkpoint);
      bulkCommitted ||= bulkLoading;
      return {
        type: 'committed',
        source: 'index',
        seq: batch.seq,
        lines: batch.lines.length,
        ...r,
        verifierWork: true,
      };
    }
    case 'index_columns': {
      beginBulk(batch.checkpoint);
      // What other processes use while the rows go in, for the index builds' helpers.
      spareCores.note();
      const bytes = readRange(batch.fd, batch.fileOffset, batch.length, batch.checkpoint, data.indexPath);
      const r = episodes.writeColumns({ ...batch, bytes }, batch.checkpoint);
      bulkCommitted ||= bulkLoading;
      return {
        type: 'committed',
        source: 'index',
        seq: batch.seq,
        lines: batch.count,
        ...r,
        verifierWork: true,
      };
    }
    case 'first_pass_done':
      return {
        type: 'committed',
        source: 'index',
        seq: batch.seq,
        lines: 0,
        ...endBulk(),
        verifierWork: true,
      };
    case 'alerts_range': {
      const bytes = readRange(batch.fd, batch.fileOffset, batch.length, batch.checkpoint, data.alertsPath);
      const records = alertRecordsOfRange(bytes, batch.fileOffset, MAX_LINE_BYTES);
      alerts.writeBatch(records, batch.checkpoint);
      return {
        type: 'committed',
        source: 'alerts',
        seq: batch.seq,
        lines: batch.lines,
        inserted: records.length,
        duplicates: 0,
        verifierWork: false,
      };
    }
    case 'alerts':
      alerts.writeBatch(batch.records, batch.checkpoint);
      return {
        type: 'committed',
        source: 'alerts',
        seq: batch.seq,
        lines: batch.lines,
        inserted: batch.records.length,
        duplicates: 0,
        verifierWork: false,
      };
    default: {
      const _exhaustive: never = batch;
      throw new Error(`unknown catalog batch ${JSON.stringify(_exhaustive)}`);
    }
  }
}

/** Set by the main thread as it stops (STOP_WORD): queued batches are skipped once `skip` is set. */
const stopSkip = new Int32Array(
  data.stopSkip ?? new SharedArrayBuffer(STOP_WORDS * Int32Array.BYTES_PER_ELEMENT),
);
const skipping = () => Atomics.load(stopSkip, STOP_WORD.skip) === 1;

/**
 * A stop during a cold bulk load: the rest of the load is not written once one of its batches is
 * (its checkpoint lets the next start follow the index should it be rotated meanwhile). The next
 * start drops what the load committed and loads the index cold again (bulk-load-reset.ts), so
 * writing on — the rows, then the index builds, ≈ 2–3 s at 1M rows in one transaction that no
 * skip can cut — only made the stop overrun its deadline (a SIGTERM 2.5 s into a 1M-line start
 * exited 1 after 5.1–5.6 s).
 */
function cutShort(command: PersistCommand): boolean {
  if (Atomics.load(stopSkip, STOP_WORD.requested) !== 1 || !bulkLoading || !bulkCommitted) return false;
  return command.type !== 'alerts' && command.type !== 'alerts_range';
}

port.on('message', (command: PersistCommand) => {
  if (command.type === 'stop') {
    // A bulk load cut short by the stop: what it wrote is synced now (a clean stop, not a crash),
    // so the next start need not check the catalog before it drops the load and loads the index
    // again (or, the index rotated meanwhile, builds the dropped indexes and resumes it).
    if (bulkLoading) syncLoad();
    db.close();
    post({ type: 'stopped' });
    port.close();
    return;
  }
  // A failed transaction is retried: a batch skipped here would leave a gap behind the next
  // batch's checkpoint. A storage fault (full disk, read-only, corrupt) is reported to the main
  // thread and retried until it clears, holding the batches behind it in order; anything else is
  // given WRITE_ATTEMPTS tries.
  for (let attempt = 1; ; attempt++) {
    // Stopping: the rest is not written (the next start reads on from the last commit's checkpoint).
    if (skipping() || cutShort(command)) return;
    try {
      const t0 = performance.now();
      const committed = write(command);
      post({ ...committed, seconds: (performance.now() - t0) / 1000 });
      return;
    } catch (err) {
      const fault = storageFault(err);
      const source = command.type === 'alerts' || command.type === 'alerts_range' ? 'alerts' : 'index';
      if (fault) post({ type: 'fault', source, fault, message: errorMessage(err) });
      else post({ type: 'error', seq: command.seq, message: errorMessage(err) });
      if (!fault && attempt >= WRITE_ATTEMPTS) return;
      Atomics.wait(pause, 0, 0, Math.min(RETRY_MAX_MS, RETRY_MS * attempt));
    }
  }
});
