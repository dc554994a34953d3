/**
 * The catalog writer thread: follows index.jsonl and alerts.jsonl from their committed
 * checkpoints and writes every record with its checkpoint in one transaction. It runs beside the
 * main thread's live feeders (which keep the live state) so that SQLite's cost never delays
 * the live state nor the event loop.
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { parseAlertLine, parseIndexLine } from '../feeders/records.js';
import { JsonlTailer } from '../feeders/tail/tailer.js';
import type { Checkpoint } from '../feeders/tail/types.js';
import type { AlertRecord } from '../protocol/index.js';
import { storageFault } from '../state/errors.js';
import { errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import {
  AlertStore,
  type EpisodeBatchResult,
  EpisodeStore,
  type IndexedRecord,
  readCheckpoint,
  type SourceName,
} from './ingest-store.js';
import type { PersistCommand, PersistMessage, PersistWorkerData } from './persist-protocol.js';

const port = parentPort;
if (!port) throw new Error('persist-worker must run in a worker thread');
const data = workerData as PersistWorkerData;
const post = (m: PersistMessage) => port.postMessage(m);

const db = openDatabase(data.stateDir);
// A small page cache, backlog or not. A 64 MiB cache made no measurable difference to a 1M-line
// catch-up (9-11 s either way over repeated runs: the time goes to parsing and inserting, and
// misses are served by the OS page cache) but left ~80 MB in this thread's malloc arena after
// catch-up, shrink_memory or not: the freed pages sit between live blocks, and glibc returns only
// an arena's top, and only past a trim threshold that Node's large buffers raise to tens of MB.
db.pragma('cache_size = -2048');
const episodes = new EpisodeStore(db);
const alerts = new AlertStore(db);
// The writer opens its files at once (so a rotation during the live first pass cannot hide lines
// from it: it holds the old file) but writes nothing until the main thread says go, so the first
// pass has the CPU to itself.
let go!: () => void;
const goSignal = new Promise<void>((resolve) => {
  go = resolve;
});
/**
 * Follows one file from its committed checkpoint: each batch is written (with the checkpoint, in
 * one transaction) once the main thread says go, and reported with the lines consumed so far.
 */
function follow(
  source: SourceName,
  file: string,
  write: (lines: string[], firstLine: number, checkpoint: Checkpoint) => EpisodeBatchResult,
): JsonlTailer {
  let lines = 0;
  return new JsonlTailer({
    path: path.join(data.dataRoot, file),
    start: readCheckpoint(db, source),
    pollIntervalMs: data.pollIntervalMs,
    async onBatch(batch) {
      await goSignal;
      const t0 = performance.now();
      let result: EpisodeBatchResult;
      try {
        result = write(batch.lines, lines + 1, batch.checkpoint);
      } catch (err) {
        // The tailer offers the same lines again after a pause; the main thread says why meanwhile.
        const fault = storageFault(err);
        if (fault) post({ type: 'fault', source, fault, message: errorMessage(err) });
        throw err;
      }
      const seconds = (performance.now() - t0) / 1000;
      lines += batch.lines.length;
      post({ type: 'committed', source, lines, ...result, checkpoint: batch.checkpoint, seconds });
    },
    onEvent(event) {
      if (event.kind === 'caught_up' || event.kind === 'missing') post({ type: 'caught_up', source });
      if (event.kind === 'error') post({ type: 'error', source, message: event.message });
    },
  });
}

const indexTailer = follow('index', 'index.jsonl', (lines, firstLine, checkpoint) => {
  const records: IndexedRecord[] = [];
  lines.forEach((text, i) => {
    const r = parseIndexLine(text);
    if (r.ok) records.push({ ...r.record, line: firstLine + i });
  });
  return episodes.writeBatch(records, checkpoint, data.run);
});

const alertTailer = follow('alerts', 'alerts.jsonl', (lines, _firstLine, checkpoint) => {
  const records: AlertRecord[] = [];
  for (const line of lines) {
    const r = parseAlertLine(line);
    if (r.ok) records.push(r.record);
  }
  alerts.writeBatch(records, checkpoint);
  return { inserted: records.length, duplicates: 0 };
});

const started = Promise.all([indexTailer.start(), alertTailer.start()]);

port.on('message', (command: PersistCommand) => {
  if (command.type === 'go') {
    go();
    return;
  }
  // A batch waiting for go is released (it commits; a stop never blocks on it). A stop that
  // arrives while the tailers are still starting waits for them, or they would arm watchers after
  // being stopped and keep this thread alive.
  go();
  void started
    .then(() => Promise.all([indexTailer.stop(), alertTailer.stop()]))
    .finally(() => {
      db.close();
      post({ type: 'stopped' });
      port.close();
    });
});
