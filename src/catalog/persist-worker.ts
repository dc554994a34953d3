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
import { errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import { AlertStore, EpisodeStore } from './ingest-store.js';
import type { PersistBatch, PersistCommand, PersistMessage, PersistWorkerData } from './persist-protocol.js';

const port = parentPort;
if (!port) throw new Error('persist-worker must run in a worker thread');
const data = workerData as PersistWorkerData;
const post = (m: PersistMessage) => port.postMessage(m);

const db = openDatabase(data.stateDir);
// A small page cache: misses are served by the OS page cache, and a large one left tens of MB in
// this thread's malloc arena after a catch-up.
db.pragma('cache_size = -2048');
const episodes = new EpisodeStore(db);
const alerts = new AlertStore(db);

const WRITE_ATTEMPTS = 10;
const RETRY_MS = 200;
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

function write(batch: PersistBatch): void {
  switch (batch.type) {
    case 'episodes': {
      const r = episodes.writeBatch(batch.records, batch.checkpoint, batch.duplicateIds);
      post({ type: 'committed', source: 'index', seq: batch.seq, lines: batch.lines, ...r });
      return;
    }
    case 'index_lines': {
      const r = episodes.writeBatch(parseLines(batch.lines), batch.checkpoint);
      post({ type: 'committed', source: 'index', seq: batch.seq, lines: batch.lines.length, ...r });
      return;
    }
    case 'index_bytes': {
      const lines = rawLines({ kind: 'bytes', bytes: batch.bytes, fileOffset: batch.fileOffset });
      const r = episodes.writeBatch(parseLines(lines), batch.checkpoint);
      post({ type: 'committed', source: 'index', seq: batch.seq, lines: lines.length, ...r });
      return;
    }
    case 'alerts':
      alerts.writeBatch(batch.records, batch.checkpoint);
      post({
        type: 'committed',
        source: 'alerts',
        seq: batch.seq,
        lines: batch.lines,
        inserted: batch.records.length,
        duplicates: 0,
      });
      return;
    default: {
      const _exhaustive: never = batch;
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
  // A failed transaction (the disk full, the file locked by another process) is retried: a batch
  // skipped here would leave a gap behind the next batch's checkpoint.
  for (let attempt = 1; ; attempt++) {
    try {
      write(command);
      return;
    } catch (err) {
      post({ type: 'error', seq: command.seq, message: errorMessage(err) });
      if (attempt >= WRITE_ATTEMPTS) return;
      Atomics.wait(pause, 0, 0, RETRY_MS * attempt);
    }
  }
});
