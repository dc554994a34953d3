/**
 * The integrity thread: joins the index with the files on disk and hashes each indexed tarball
 * once, within a read budget and in short transactions, so it never competes with the live work
 * on the main thread or the catalog writer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { readEpisode } from '../phasemix/episode-file.js';
import type { EpisodeReadError } from '../phasemix/episode-reader.js';
import { errnoCode, errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import { DiskSync } from './disk-sync.js';
import { listEpisodeFiles } from './disk-sync-fs.js';
import { ByteBudget, hashFile } from './verifier.js';
import type { VerifierCommand, VerifierMessage, VerifierWorkerData } from './verifier-protocol.js';

const port = parentPort;
if (!port) throw new Error('verifier-worker must run in a worker thread');
const data = workerData as VerifierWorkerData;
const post = (m: VerifierMessage) => port.postMessage(m);

/** Index rows classified per transaction: short, so the catalog writer never waits long. */
const ROWS_PER_TX = 5000;
/** Read failures that mean the bytes are damaged (not "no labels" or "bigger than we read"). */
const DAMAGED: ReadonlySet<EpisodeReadError> = new Set(['truncated', 'not_zstd', 'not_tar', 'unreadable']);

/** Files hashed per cycle before the thread looks at new rows and files again. */
const FILES_PER_CYCLE = 8;

// No lowered CPU priority (os.setPriority): this thread holds SQLite write locks, and a starved
// holder on a busy box stalls the catalog writer behind it (priority inversion; seen as a stalled
// server test at nice 19). The read budget and short transactions bound its work instead.

const db = openDatabase(data.stateDir);
// Sequential passes over new rows and small lookups: a small page cache keeps the thread's RSS low.
db.pragma('cache_size = -4096');
const sync = new DiskSync(db, data.dataRoot);
const budget = new ByteBudget(data.bytesPerSecond);
let stopping = false;
let listingDue = true;
let lastListing = 0;
let wake: (() => void) | null = null;

port.on('message', (command: VerifierCommand) => {
  if (command.type === 'poke') listingDue = true;
  else stopping = true;
  wake?.();
});

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      wake = null;
      resolve();
    }
    wake = done;
  });
}

async function cycle(): Promise<boolean> {
  let fileChanges = 0;
  if (listingDue || Date.now() - lastListing >= data.rescanIntervalMs) {
    listingDue = false;
    lastListing = Date.now();
    fileChanges = sync.applyListing(await listEpisodeFiles(data.dataRoot));
  }
  let rowsSynced = 0;
  for (let n = sync.syncNewRows(ROWS_PER_TX); n > 0 && !stopping; n = sync.syncNewRows(ROWS_PER_TX)) {
    rowsSynced += n;
    await yieldToLoop();
  }
  let hashed = 0;
  let hashedBytes = 0;
  let failed = false;
  const queue = sync.nextToVerify(FILES_PER_CYCLE);
  for (const item of queue) {
    if (stopping) break;
    const file = path.join(data.dataRoot, item.relPath);
    try {
      const { sha256, bytes } = await hashFile(file, budget);
      const st = await fs.lstat(file);
      // Changed while hashing: the next listing records the new size/mtime and hashes it again.
      if (!st.isFile() || st.size !== item.size || Math.trunc(st.mtimeMs) !== item.mtimeMs) {
        failed = true;
        continue;
      }
      // Read through the whole archive (bounded): a tarball hashed as indexed may still be cut short.
      const contents = await readEpisode(file, { members: true });
      const damaged = contents.error !== null && DAMAGED.has(contents.error) ? contents.error : null;
      sync.recordHash(item, sha256, damaged);
      hashed++;
      hashedBytes += bytes;
    } catch {
      failed = true; // gone or unreadable: the next listing settles it
    }
  }
  if (failed) listingDue = true;
  post({ type: 'cycle', fileChanges, rowsSynced, hashed, hashedBytes });
  // More to hash and nothing failing: go on at once (the budget paces it); else wait.
  return queue.length === FILES_PER_CYCLE && !failed;
}

async function run(): Promise<void> {
  while (!stopping) {
    let busy = false;
    try {
      busy = await cycle();
    } catch (err) {
      post({ type: 'error', message: errorMessage(err), code: errnoCode(err) });
    }
    if (!busy && !stopping && !listingDue) await pause(data.pollIntervalMs);
  }
  db.close();
  post({ type: 'stopped' });
  port?.close();
}

void run();
