/**
 * The integrity thread: joins the index with the files on disk and hashes each indexed tarball
 * once, within a read budget and in short transactions, so it never competes with the live work
 * on the main thread or the catalog writer.
 */
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { statEpisode } from '../feeders/episode-files.js';
import { errnoCode, errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import { DiskSync, FILES_PER_TX, type FileChanges, type VerifyItem } from './disk-sync.js';
import { DiskListing } from './disk-sync-fs.js';
import { parseDefaultRelPath } from './disk-sync-paths.js';
import { ByteBudget, hashFile, readThrough } from './verifier.js';
import { readVerifierCounts } from './verifier-counts.js';
import type { VerifierCommand, VerifierMessage, VerifierWorkerData } from './verifier-protocol.js';

const port = parentPort;
if (!port) throw new Error('verifier-worker must run in a worker thread');
const data = workerData as VerifierWorkerData;
const post = (m: VerifierMessage) => port.postMessage(m);

/**
 * Index rows classified per transaction: short, so the catalog writer never waits long. And small
 * enough that a step's rows die in this thread's young generation (2 MiB semi-spaces,
 * `verifier-service.ts`): 5,000 rows (≈ 2.5 MiB of objects and strings) were promoted each step,
 * and while it walked a 1M-row catalog its old generation swung between ≈ 15 and 33 MiB (RSS ± 20
 * MiB, still there 30 s after catch-up on a busy machine); with 1,000 it stayed at ≈ 12 MiB, for
 * the same CPU within the noise (compact 11.9 s vs 10.1–11.9 s, foreign 15.8 vs 14.0–15.7 s, load 6–9).
 */
const ROWS_PER_TX = 1000;

/** Files hashed per cycle before the thread looks at new rows and files again. */
const FILES_PER_CYCLE = 8;

/**
 * Fed, the thread's own full listing (the catalog's `disk_files` against the disk) comes every this
 * many rescan intervals (and at start, and after changes failed to apply). The feeder's full
 * rescan still runs every interval and posts what it finds changed (a file rewritten in place, a
 * lost notification): a listing of the thread's own each interval stat()ed every file a second
 * time (2,000 files: ≈ 0.1 s of this thread and the thread pool a minute) to find the same.
 */
const FED_FULL_LISTING_INTERVALS = 10;
const fullListingMs = data.fed ? data.rescanIntervalMs * FED_FULL_LISTING_INTERVALS : data.rescanIntervalMs;

// No lowered CPU priority (os.setPriority): this thread holds SQLite write locks, and a starved
// holder on a busy box stalls the catalog writer behind it (priority inversion; seen as a stalled
// server test at nice 19). The read budget and short transactions bound its work instead.

const db = openDatabase(data.stateDir);
// Sequential passes over new rows and small lookups: a small page cache keeps the thread's RSS low.
db.pragma('cache_size = -4096');
const sync = new DiskSync(db, data.dataRoot);
const listing = new DiskListing(data.dataRoot);
const budget = new ByteBudget(data.bytesPerSecond);
let stopping = false;
/** New files were announced (a poke): a quick listing is due, at most one per poll interval. */
let listingDue = true;
let lastListing = Number.NEGATIVE_INFINITY;
// A thread started again after an idle end goes on from its predecessor's full listing.
let lastFullListing = data.fullListingAt > 0 ? data.fullListingAt : Number.NEGATIVE_INFINITY;
let wake: (() => void) | null = null;
/** Where the walk over files to hash goes on from. */
let verifyCursor = '';
/** Changes posted by the main thread (fed mode), applied in the order they came. */
const fed: FileChanges[] = [];
/** `files` commands received (reported with each cycle: the main thread's idle end checks it). */
let filesReceived = 0;

port.on('message', (command: VerifierCommand) => {
  if (command.type === 'files') {
    filesReceived++;
    fed.push(command.changes);
    listingDue = true;
  } else if (command.type === 'poke') {
    // A burst pokes thousands of times: one wake-up for all of them.
    if (listingDue) return;
    listingDue = true;
  } else {
    stopping = true;
  }
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

/** Milliseconds until the next listing may run (0: now). */
function untilListing(now: number): number {
  const full = lastFullListing + fullListingMs - now;
  const quick = listingDue ? lastListing + data.pollIntervalMs - now : Number.POSITIVE_INFINITY;
  return Math.max(0, Math.min(full, quick));
}

/**
 * Lists `episodes/` when due (a full listing every rescan interval — fed, every
 * FED_FULL_LISTING_INTERVALS of them —, a quick one after a poke) and
 * applies what changed to the catalog in short transactions, yielding between them.
 * @returns how many files were added, changed or removed.
 */
async function listFiles(): Promise<number> {
  const now = Date.now();
  if (untilListing(now) > 0) return 0;
  const full = now - lastFullListing >= fullListingMs;
  listingDue = false;
  lastListing = now;
  if (full) lastFullListing = now;
  if (data.fed) {
    // Posted changes older than a full listing are in it; the ones posted while it runs follow it.
    if (full) fed.length = 0;
    let applied = full ? await applyFileChanges(sync.diffWithCatalog(await listing.lookAll())) : 0;
    for (let changes = fed.shift(); changes && !stopping; changes = fed.shift()) {
      applied += await applyFileChanges(changes);
    }
    return applied;
  }
  const seen = await listing.look(full);
  return applyFileChanges('all' in seen ? sync.diffWithCatalog(seen.all) : seen.changes);
}

/** Applies changes to the catalog in short transactions, yielding between them. */
async function applyFileChanges(changes: FileChanges): Promise<number> {
  const total = changes.upserts.length + changes.removals.length;
  let applied = 0;
  try {
    while (applied < total && !stopping) {
      applied += sync.applyChanges(changes, applied, FILES_PER_TX);
      await yieldToLoop();
    }
  } finally {
    // Not all applied (stopped, or a write failed): the next listing compares with the catalog
    // (fed: a full listing, at once).
    if (applied < total) {
      listing.reset();
      if (data.fed) lastFullListing = Number.NEGATIVE_INFINITY;
    }
  }
  return applied;
}

/** Whether the counts changed since last posted, and when they were. */
let countsDirty = true;
let countsPostedAt = Number.NEGATIVE_INFINITY;
/** While busy, counts are posted at most this often (counting 200,000 rows takes a while). */
const COUNTS_EVERY_MS = 2000;

/** Posts the thread's counts when they changed: at once when idle, else every COUNTS_EVERY_MS. */
function postCounts(busy: boolean): void {
  const now = Date.now();
  if (!countsDirty || (busy && now - countsPostedAt < COUNTS_EVERY_MS)) return;
  countsDirty = false;
  countsPostedAt = now;
  post({ type: 'counts', counts: readVerifierCounts(db) });
}

/** Indexed files that failed to read, already told (until they change or read). */
const unreadable = new Set<string>();

async function cycle(): Promise<boolean> {
  const fileChanges = await listFiles();
  let rowsSynced = 0;
  for (let n = sync.syncNewRows(ROWS_PER_TX); n > 0 && !stopping; n = sync.syncNewRows(ROWS_PER_TX)) {
    rowsSynced += n;
    await yieldToLoop();
  }
  let hashed = 0;
  let hashedBytes = 0;
  const queue = sync.nextToVerify(FILES_PER_CYCLE, verifyCursor);
  verifyCursor = queue.length < FILES_PER_CYCLE ? '' : (queue[queue.length - 1]?.relPath ?? '');
  for (const item of queue) {
    if (stopping) break;
    const file = path.join(data.dataRoot, item.relPath);
    try {
      const { sha256, bytes } = await hashFile(file, budget);
      if (await recheck(item)) continue;
      // Read through the whole archive (bounded, within the same budget): a tarball hashed as
      // indexed may still be cut short.
      sync.recordHash(item, sha256, await readThrough(file, budget));
      hashed++;
      hashedBytes += bytes;
      unreadable.delete(item.relPath);
    } catch (err) {
      // Unreadable (or gone): its new size/mtime or its removal goes to the catalog now; a file
      // that stays unreadable is tried again on the next walk, and told once.
      if (!(await recheck(item)) && !unreadable.has(item.relPath)) {
        unreadable.add(item.relPath);
        post({ type: 'unreadable', relPath: item.relPath, message: errorMessage(err), code: errnoCode(err) });
      } else unreadable.delete(item.relPath);
    }
  }
  if (fileChanges + rowsSynced + queue.length > 0) countsDirty = true;
  postCounts(queue.length === FILES_PER_CYCLE);
  const idle = fileChanges + rowsSynced + queue.length === 0 && fed.length === 0 && !listingDue;
  const fullListingAt = Number.isFinite(lastFullListing) ? lastFullListing : 0;
  post({ type: 'cycle', fileChanges, rowsSynced, hashed, hashedBytes, idle, fullListingAt, filesReceived });
  // More to hash: go on at once (the budget paces it); else wait.
  return queue.length === FILES_PER_CYCLE;
}

/**
 * Whether `item` changed (or went) since it was listed; if so the catalog gets its new size and
 * mtime (its cached hash no longer holds) or loses it, at once rather than at the next full listing.
 */
async function recheck(item: VerifyItem): Promise<boolean> {
  const st = await statEpisode(path.join(data.dataRoot, item.relPath));
  if (st && st.size === item.size && st.mtimeMs === item.mtimeMs) return false;
  const parsed = parseDefaultRelPath(item.relPath);
  const upserts =
    st && parsed
      ? [{ relPath: item.relPath, hostId: parsed.hostId, episodeId: parsed.episodeId, ...st }]
      : [];
  sync.applyChanges({ upserts, removals: st ? [] : [item.relPath] }, 0, 1);
  return true;
}

async function run(): Promise<void> {
  while (!stopping) {
    let busy = false;
    try {
      busy = await cycle();
    } catch (err) {
      post({ type: 'error', message: errorMessage(err), code: errnoCode(err) });
    }
    if (!busy && !stopping) {
      const wait = listingDue ? untilListing(Date.now()) : data.pollIntervalMs;
      if (wait > 0) await pause(Math.min(wait, data.pollIntervalMs));
    }
  }
  db.close();
  post({ type: 'stopped' });
  port?.close();
}

void run();
