import fs from 'node:fs';
import path from 'node:path';
import { settleCutShortLoad } from '../catalog/bulk-load-reset.js';
import { type Db, openDatabase } from '../catalog/db.js';
import { loadStoredTotals } from '../catalog/ingest-store.js';
import { UNSYNCED_LOAD } from '../catalog/schema.js';
import { DashboardError, errnoCode } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { makeFolder } from '../util/make-folder.js';
import { CORRUPT_MARKER, catalogDamage, setCatalogAside } from './catalog-file.js';
import { type DataRootId, dataRootId } from './data-root-id.js';
import { StateDirError, storageCause, storageFault } from './errors.js';
import { StateDirLock } from './lock.js';

export interface OpenStateDirOptions {
  stateDir: string;
  dataRoot: string;
  /** Set aside a catalog that belongs to another data root instead of refusing it. */
  resetState?: boolean;
  logger: Logger;
}

/** A state dir this process owns until `release()`. */
export interface StateDirHandle {
  stateDir: string;
  release(): void;
}

/** Bytes a start must be able to write: room for the catalog's first pages and its journal. */
const PROBE_BYTES = 64 * 1024;

/**
 * Makes a state dir ready for the catalog, or explains in one line why it cannot be: the folder
 * exists (made if absent) and takes writes, this process owns it (see StateDirLock), a damaged
 * catalog is set aside (it is derived from the data root and rebuilt from it), and the catalog
 * belongs to this data root. Every failure is a StateDirError (the CLI exits 2); no stack.
 */
export function openStateDir(o: OpenStateDirOptions): StateDirHandle {
  const stateDir = path.resolve(o.stateDir);
  prepareFolder(stateDir);
  const lock = StateDirLock.acquire(stateDir, path.resolve(o.dataRoot));
  try {
    checkCatalog(stateDir, dataRootId(o.dataRoot), o);
  } catch (err) {
    lock.release();
    if (err instanceof DashboardError || storageFault(err) === null) throw err;
    throw unusable(stateDir, 'cannot hold the catalog', err);
  }
  return { stateDir, release: () => lock.release() };
}

function prepareFolder(stateDir: string): void {
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(stateDir);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw unusable(stateDir, 'cannot be read', err);
  }
  if (st && !st.isDirectory()) {
    throw new StateDirError('state_dir_not_dir', `state dir ${stateDir} is not a directory`, { stateDir });
  }
  if (!st) {
    try {
      // The catalog holds the lab's records: the state dir is its owner's alone.
      makeFolder(stateDir, 0o700);
    } catch (err) {
      throw unusable(stateDir, 'cannot be created', err);
    }
  }
  // A real write, not access(2): root passes every permission check, yet not a read-only mount,
  // and only a write tells a full file system.
  const probe = path.join(stateDir, `.write-probe-${process.pid}`);
  try {
    fs.writeFileSync(probe, Buffer.alloc(PROBE_BYTES));
  } catch (err) {
    throw unusable(stateDir, 'cannot be written', err);
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

function unusable(stateDir: string, what: string, err: unknown): StateDirError {
  const fault = storageFault(err);
  return new StateDirError(
    fault ? `state_dir_${fault}` : 'state_dir_unusable',
    `state dir ${stateDir} ${what} (${storageCause(err)})`,
    { stateDir },
  );
}

function checkCatalog(stateDir: string, root: DataRootId, o: OpenStateDirOptions): void {
  const damage = fs.existsSync(path.join(stateDir, CORRUPT_MARKER))
    ? 'a running server found a corrupt page in it'
    : catalogDamage(stateDir);
  if (damage) setAside(stateDir, 'corrupt', damage, o.logger);
  let db = openCatalog(stateDir, o.logger);
  const unsynced = unsyncedLoadDamage(db);
  if (unsynced) {
    db.close();
    setAside(stateDir, 'corrupt', unsynced, o.logger);
    db = openCatalog(stateDir, o.logger);
  }
  try {
    const other = otherRoot(db, root, o.logger);
    if (other === null) {
      settleLoad(db, path.join(o.dataRoot, 'index.jsonl'), o.logger);
      return;
    }
    if (!o.resetState) {
      throw new StateDirError(
        'state_dir_other_root',
        `state dir ${stateDir} holds the catalog of ${other}, not of ${root.real_path}: pass --reset-state to set it aside and rebuild, or use another --state-dir`,
        { stateDir, dataRoot: root.real_path },
      );
    }
    db.close();
    setAside(stateDir, 'other-root', `it belongs to ${other} (--reset-state)`, o.logger);
    db = openCatalog(stateDir, o.logger);
    recordRoot(db, root);
  } finally {
    if (db.open) db.close();
  }
}

/** A cold load the last run cut short: dropped and loaded again cold, or resumed (bulk-load-reset.ts). */
function settleLoad(db: Db, indexPath: string, logger: Logger): void {
  const load = settleCutShortLoad(db, indexPath);
  if (load?.kind === 'dropped') {
    logger.warn(
      { rows: load.rows, index: indexPath },
      `the last run stopped during the catalog's first load (${load.rows} rows in); loading ${indexPath} again from its start`,
    );
  } else if (load?.kind === 'resumed') {
    logger.warn(
      { rows: load.rows, index: indexPath, why: load.why },
      `the last run stopped during the catalog's first load (${load.rows} rows in) and ${load.why}: resuming it where it stopped, which is slower`,
    );
  }
}

/**
 * A cold bulk load commits without syncing until its end (catalog/persist-worker.ts) and leaves a
 * mark meanwhile: found at start, the load was cut short (a crash, or a power loss that may have
 * lost pages), so the catalog is checked before it is trusted. Null when unmarked or whole.
 */
function unsyncedLoadDamage(db: Db): string | null {
  if (db.prepare('SELECT 1 FROM sync_state WHERE name = ?').get(UNSYNCED_LOAD) === undefined) return null;
  let problems: string[];
  try {
    problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check);
  } catch (err) {
    problems = [storageCause(err)];
  }
  if (problems.length === 1 && problems[0] === 'ok') return null;
  return `a cold load was cut short and the catalog fails its check: ${problems.slice(0, 3).join('; ')}`;
}

/** Opens and migrates the catalog and reads what a start reads; a corrupt one is set aside once. */
function openCatalog(stateDir: string, logger: Logger, retry = true): Db {
  let db: Db | null = null;
  try {
    db = openDatabase(stateDir);
    loadStoredTotals(db);
    return db;
  } catch (err) {
    db?.close();
    const fault = storageFault(err);
    if (fault === 'corrupt' && retry) {
      setAside(stateDir, 'corrupt', storageCause(err), logger);
      return openCatalog(stateDir, logger, false);
    }
    if (fault === null) throw err;
    throw unusable(stateDir, 'cannot hold the catalog', err);
  }
}

function setAside(stateDir: string, why: 'corrupt' | 'other-root', detail: string, logger: Logger): void {
  let movedTo: string;
  try {
    movedTo = setCatalogAside(stateDir, why);
  } catch (err) {
    throw unusable(stateDir, 'cannot set its catalog aside', err);
  }
  logger.warn(
    { stateDir, movedTo, reason: why, detail },
    `catalog set aside to ${movedTo} (${detail}); rebuilding it from the data root`,
  );
}

interface RootRow {
  real_path: string;
  fingerprint: string | null;
}

/** A description of the other root the catalog belongs to, or null when it is this one's. */
function otherRoot(db: Db, root: DataRootId, logger: Logger): string | null {
  const row = db.prepare('SELECT real_path, fingerprint FROM data_root WHERE id = 1').get() as
    | RootRow
    | undefined;
  if (!row) {
    if (holdsData(db)) {
      logger.warn(
        { dataRoot: root.real_path, catalog: db.name },
        'the catalog records no data root (an older version made it); it is taken as this data root’s',
      );
    }
    recordRoot(db, root);
    return null;
  }
  if (row.real_path !== root.real_path) return `data root ${row.real_path}`;
  if (row.fingerprint !== null && root.fingerprint !== null && row.fingerprint !== root.fingerprint) {
    return `an earlier directory at ${row.real_path} (removed and made again since)`;
  }
  if (row.fingerprint === null && root.fingerprint !== null) recordRoot(db, root);
  return null;
}

function holdsData(db: Db): boolean {
  return (
    db
      .prepare(
        `SELECT EXISTS (SELECT 1 FROM checkpoints) OR EXISTS (SELECT 1 FROM episodes)
           OR EXISTS (SELECT 1 FROM alerts) OR EXISTS (SELECT 1 FROM phase_cache)`,
      )
      .pluck()
      .get() === 1
  );
}

function recordRoot(db: Db, root: DataRootId): void {
  db.prepare(
    `INSERT INTO data_root (id, real_path, fingerprint, recorded_at) VALUES (1, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET real_path = excluded.real_path, fingerprint = excluded.fingerprint,
       recorded_at = excluded.recorded_at`,
  ).run(root.real_path, root.fingerprint, new Date().toISOString());
}
