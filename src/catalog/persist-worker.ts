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
import type { AlertRecord } from '../protocol/index.js';
import { openDatabase } from './db.js';
import { AlertStore, EpisodeStore, type IndexedRecord, readCheckpoint } from './ingest-store.js';
import type { PersistCommand, PersistMessage, PersistWorkerData } from './persist-protocol.js';

const port = parentPort;
if (!port) throw new Error('persist-worker must run in a worker thread');
const data = workerData as PersistWorkerData;
const post = (m: PersistMessage) => port.postMessage(m);

const db = openDatabase(data.stateDir);
// A backlog inserts into several indexes at random keys: a larger cache saves most page misses.
// Once caught up, the cache goes back to the default and its memory is returned.
db.pragma('cache_size = -65536');
let shrunk = false;
function shrinkOnce(): void {
  if (shrunk) return;
  shrunk = true;
  db.pragma('cache_size = -8192');
  db.pragma('shrink_memory');
}
const episodes = new EpisodeStore(db);
const alerts = new AlertStore(db);
let indexLines = 0;
// The writer opens its files at once (so a rotation during the live first pass cannot hide lines
// from it: it holds the old file) but writes nothing until the main thread says go, so the first
// pass has the CPU to itself.
let go!: () => void;
const goSignal = new Promise<void>((resolve) => {
  go = resolve;
});
let alertLines = 0;

const indexTailer = new JsonlTailer({
  path: path.join(data.dataRoot, 'index.jsonl'),
  start: readCheckpoint(db, 'index'),
  pollIntervalMs: data.pollIntervalMs,
  async onBatch(batch) {
    await goSignal;
    const records: IndexedRecord[] = [];
    for (const text of batch.lines) {
      indexLines++;
      const r = parseIndexLine(text);
      if (r.ok) records.push({ ...r.record, line: indexLines });
    }
    const result = episodes.writeBatch(records, batch.checkpoint, data.run);
    post({ type: 'committed', source: 'index', lines: indexLines, ...result, checkpoint: batch.checkpoint });
  },
  onEvent(event) {
    if (event.kind === 'caught_up' || event.kind === 'missing') {
      shrinkOnce();
      post({ type: 'caught_up', source: 'index' });
    }
    if (event.kind === 'error') post({ type: 'error', source: 'index', message: event.message });
  },
});

const alertTailer = new JsonlTailer({
  path: path.join(data.dataRoot, 'alerts.jsonl'),
  start: readCheckpoint(db, 'alerts'),
  pollIntervalMs: data.pollIntervalMs,
  async onBatch(batch) {
    await goSignal;
    const records: AlertRecord[] = [];
    for (const line of batch.lines) {
      const r = parseAlertLine(line);
      if (r.ok) records.push(r.record);
    }
    alertLines += batch.lines.length;
    alerts.writeBatch(records, batch.checkpoint);
    post({
      type: 'committed',
      source: 'alerts',
      lines: alertLines,
      inserted: records.length,
      duplicates: 0,
      checkpoint: batch.checkpoint,
    });
  },
  onEvent(event) {
    if (event.kind === 'caught_up' || event.kind === 'missing') post({ type: 'caught_up', source: 'alerts' });
    if (event.kind === 'error') post({ type: 'error', source: 'alerts', message: event.message });
  },
});

const started = Promise.all([indexTailer.start(), alertTailer.start()]);

port.on('message', (command: PersistCommand) => {
  if (command.type === 'go') {
    go();
    return;
  }
  if (command.type === 'poke') {
    (command.source === 'index' ? indexTailer : alertTailer).poke();
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
