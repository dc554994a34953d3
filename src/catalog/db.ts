import path from 'node:path';
import Database from 'better-sqlite3';
import { DashboardError } from '../util/errors.js';
import { releaseWhenIdle } from '../util/idle-release.js';
import { makeFolder } from '../util/make-folder.js';
import { MIGRATIONS, restoreEpisodeKey } from './schema.js';

export type Db = Database.Database;

/** Page size of a new catalog file, in bytes. */
export const PAGE_SIZE = 16384;

/** The catalog file inside the state dir. */
export const DB_FILE = 'catalog.sqlite';

export interface OpenDbOptions {
  /** Open read-only (a second connection beside the writer; WAL lets both run). */
  readonly?: boolean;
}

/**
 * Opens (creating and migrating as needed) the state dir's SQLite database. A file from an older
 * schema is upgraded in place; a file from a newer one is refused, never silently discarded.
 */
export function openDatabase(stateDir: string | null, options: OpenDbOptions = {}): Db {
  if (stateDir !== null && !options.readonly) makeFolder(stateDir);
  // No state dir: a private in-memory catalog (one-shot commands that must leave no trace).
  const file = stateDir === null ? ':memory:' : path.join(stateDir, DB_FILE);
  const db = new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
  });
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    // A new catalog gets 16 KiB pages (set before anything is written; an existing file keeps its
    // own): a 1M-row bulk load built its indexes ≈ 30 % faster than with 4 KiB pages, in fewer
    // write-ahead-log frames.
    if (db.pragma('page_count', { simple: true }) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against process crashes (each commit is in the WAL); only a
    // power loss can lose the last commits, which then replay from the data root.
    db.pragma('synchronous = NORMAL');
    migrate(db);
    restoreEpisodeKey(db);
  }
  // 8 MiB of page cache per connection (three threads hold one each); the catalog writer raises
  // its own while it loads a backlog.
  db.pragma('cache_size = -8192');
  releaseCacheWhenIdle(db);
  return db;
}

/**
 * The connection's page cache goes back to the allocator when its thread goes idle after a busy
 * stretch (`util/idle-release.ts`): a catch-up's pages are not kept for weeks. The cache refills
 * from the OS page cache on the next queries.
 */
export function releaseCacheWhenIdle(db: Db): void {
  const stop = releaseWhenIdle(
    () => {
      if (db.open) db.pragma('shrink_memory');
      else stop();
    },
    () => trimMalloc(db),
  );
}

/** Set once `malloc_trim` was found missing (no glibc: musl, macOS): never tried again. */
let noMallocTrim = process.platform !== 'linux';

/**
 * Gives the free pages of every malloc arena back to the OS (glibc's `malloc_trim(0)`); returns
 * whether it ran. Memory a thread frees stays in its arena, resident, when live blocks sit above
 * it: after a 1M-line catch-up ≈ 40 MiB of the process's RSS was such free memory (page caches,
 * the first pass's column buffers freed by the writer, index builds), and freeing more of it
 * (`shrink_memory`, a collection) only adds to it. Node has no call for it; SQLite's extension
 * loader has one: it opens a shared library and calls the named function with (connection,
 * error message, API table). `malloc_trim` reads its first argument as the bytes to keep at the
 * top of the main heap — the connection's address, so it keeps that top whole — and releases the
 * free pages inside every arena whatever that argument. It returns 1 when it released something,
 * which SQLite reports as an "error during initialization", and 0 otherwise, which SQLite takes for
 * a loaded extension (closed with the connection). Any other error (no `libc.so.6` or no such
 * symbol) means no glibc: it is not tried again.
 */
export function trimMalloc(db: Db): boolean {
  if (noMallocTrim || !db.open) return false;
  try {
    // better-sqlite3 takes the entry point as a second argument; its type declarations omit it.
    (db as unknown as { loadExtension(file: string, entryPoint: string): void }).loadExtension(
      'libc.so.6',
      'malloc_trim',
    );
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith('error during initialization'))) {
      noMallocTrim = true;
      return false;
    }
  }
  return true;
}

/** The schema version the running code expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new DashboardError(
      'catalog_too_new',
      `catalog ${db.name} has schema version ${current}, newer than this dashboard's ${MIGRATIONS.length}; use a newer dashboard or another --state-dir`,
      { file: db.name, version: current },
    );
  }
  // Each step in a transaction that holds the write lock from BEGIN, reading the version again
  // inside it: the threads that open the catalog at start (main, writer, verifier) may race here,
  // and the step is applied by the first one only.
  for (let v = current; v < MIGRATIONS.length; v++) {
    const step = MIGRATIONS[v] as (db: Db) => void;
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) > v) return;
      step(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
