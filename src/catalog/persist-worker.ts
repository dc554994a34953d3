/**
 * The catalog writer thread: a projection of the ingest log that only writes. The main thread is
 * the one reader of every source file; it hands each batch here (records it accepted, or a
 * first-pass range's bytes) with the checkpoint that covers it, and every batch is written with
 * its checkpoint in one transaction, so a restart resumes exactly after what was committed.
 * SQLite's cost runs on this thread, never on the live state's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { rawLines } from '../feeders/first-pass.js';
import { parseIndexLine } from '../feeders/records.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { storageFault } from '../state/errors.js';
import { errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import { AlertStore, EpisodeStore } from './ingest-store.js';
import type { PersistBatch, PersistCommand, PersistMessage, PersistWorkerData } from './persist-protocol.js';
import { EPISODE_INDEX_NAMES, EPISODE_INDEXES } from './schema.js';

const port = parentPort;
if (!port) throw new Error('persist-worker must run in a worker thread');
const data = workerData as PersistWorkerData;
const post = (m: PersistMessage) => port.postMessage(m);

const db = openDatabase(data.stateDir);
// A small page cache: misses are served by the OS page cache, and a large one left tens of MB in
// this thread's malloc arena after a catch-up.
db.pragma('cache_size = -2048');
// The explorer's indexes exist whatever happened before (a bulk load cut short dropped them).
for (const sql of EPISODE_INDEXES) db.exec(sql.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'));
const episodes = new EpisodeStore(db);
/** True while a cold first pass loads an empty table with its secondary indexes dropped. */
let bulkLoading = false;

/**
 * A cold first pass into an empty table: its secondary indexes go, and are built once its rows
 * are in — a sort, where keeping five indexes through a million inserts dirtied pages at random.
 */
function beginBulk(): void {
  if (bulkLoading || db.prepare('SELECT 1 FROM episodes LIMIT 1').get() !== undefined) return;
  db.transaction(() => {
    for (const name of EPISODE_INDEX_NAMES) db.exec(`DROP INDEX IF EXISTS ${name}`);
  })();
  bulkLoading = true;
}

function endBulk(): void {
  if (!bulkLoading) return;
  db.transaction(() => {
    for (const sql of EPISODE_INDEXES) db.exec(sql.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'));
  })();
  bulkLoading = false;
}
const alerts = new AlertStore(db);

const WRITE_ATTEMPTS = 10;
const RETRY_MS = 200;
const RETRY_MAX_MS = 2000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Valid index records of whole lines, parsed by the one line parser. */
function parseLines(lines: readonly string[]): EpisodeRecord[] {
  const records: EpisodeRecord[] = [];
  for (const line of lines) {
    const r = parseIndexLine(line);
    if (r.ok) records.push(r.record);
  }
  return records;
}

/** Commits one batch; returns the 'committed' message without its time (the caller measures it). */
function write(batch: PersistBatch): Omit<Extract<PersistMessage, { type: 'committed' }>, 'seconds'> {
  switch (batch.type) {
    case 'episodes': {
      const r = episodes.writeBatch(batch.records, batch.checkpoint, batch.duplicateIds);
      return { type: 'committed', source: 'index', seq: batch.seq, lines: batch.lines, ...r };
    }
    case 'index_lines': {
      beginBulk();
      const r = episodes.writeBatch(parseLines(batch.lines), batch.checkpoint);
      return { type: 'committed', source: 'index', seq: batch.seq, lines: batch.lines.length, ...r };
    }
    case 'index_bytes': {
      beginBulk();
      const lines = rawLines({ kind: 'bytes', bytes: batch.bytes, fileOffset: batch.fileOffset });
      const r = episodes.writeBatch(parseLines(lines), batch.checkpoint);
      return { type: 'committed', source: 'index', seq: batch.seq, lines: lines.length, ...r };
    }
    case 'first_pass_done':
      endBulk();
      return { type: 'committed', source: 'index', seq: batch.seq, lines: 0, inserted: 0, duplicates: 0 };
    case 'alerts':
      alerts.writeBatch(batch.records, batch.checkpoint);
      return {
        type: 'committed',
        source: 'alerts',
        seq: batch.seq,
        lines: batch.lines,
        inserted: batch.records.length,
        duplicates: 0,
      };
    default: {
      const _exhaustive: never = batch;
      throw new Error(`unknown catalog batch ${JSON.stringify(_exhaustive)}`);
    }
  }
}

port.on('message', (command: PersistCommand) => {
  if (command.type === 'stop') {
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
    try {
      const t0 = performance.now();
      const committed = write(command);
      post({ ...committed, seconds: (performance.now() - t0) / 1000 });
      return;
    } catch (err) {
      const fault = storageFault(err);
      const source = command.type === 'alerts' ? 'alerts' : 'index';
      if (fault) post({ type: 'fault', source, fault, message: errorMessage(err) });
      else post({ type: 'error', seq: command.seq, message: errorMessage(err) });
      if (!fault && attempt >= WRITE_ATTEMPTS) return;
      Atomics.wait(pause, 0, 0, Math.min(RETRY_MAX_MS, RETRY_MS * attempt));
    }
  }
});
