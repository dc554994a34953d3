import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { errnoCode } from '../util/errors.js';
import { StateDirError, storageCause } from './errors.js';

/** The lock file (an empty SQLite database) and the note naming its owner, in the state dir. */
export const LOCK_FILE = 'lock';
export const OWNER_FILE = 'owner.json';

export interface LockOwner {
  pid: number;
  hostname: string;
  started_at: string;
  data_root: string;
}

/**
 * One process owns a state dir. The lock is an OS lock: an open write transaction on an empty
 * SQLite file (`BEGIN EXCLUSIVE`), i.e. SQLite's POSIX `fcntl` byte-range locks, which Node cannot
 * take by itself (it has no flock/fcntl). Why not a pid file opened with `wx` and stale-lock
 * detection: the kernel drops an fcntl lock the moment its process dies, SIGKILL and power loss
 * included, so a stale lock cannot exist; a pid file left behind must be judged by
 * `kill(pid, 0)`, which a reused pid fools (a container restarts its server under the same small
 * pid) and which two starters can race on while taking over. SQLite also sees the lock between
 * two connections of one process (two servers in one test process), which raw fcntl does not.
 * The owner's pid is in `owner.json`, written once the lock is held, for the refusal message.
 * fcntl locks need a local file system or NFSv4 with working locks.
 */
export class StateDirLock {
  private constructor(
    private readonly db: Database.Database,
    readonly stateDir: string,
  ) {}

  /** Takes the lock or throws a StateDirError naming the owner's pid. */
  static acquire(stateDir: string, dataRoot: string): StateDirLock {
    const file = path.join(stateDir, LOCK_FILE);
    let db: Database.Database | null = null;
    try {
      db = new Database(file);
      db.pragma('busy_timeout = 0');
      try {
        db.exec('BEGIN EXCLUSIVE');
      } catch (err) {
        // Something wrote into the lock file. No one holds it (a holder's lock would have answered
        // SQLITE_BUSY before any byte was read): empty it in place, same inode, and take it.
        if (errnoCode(err) !== 'SQLITE_NOTADB' && errnoCode(err) !== 'SQLITE_CORRUPT') throw err;
        fs.truncateSync(file, 0);
        db.exec('BEGIN EXCLUSIVE');
      }
    } catch (err) {
      db?.close();
      if (errnoCode(err) === 'SQLITE_BUSY') throw lockedError(stateDir);
      throw new StateDirError(
        'state_dir_unusable',
        `state dir ${stateDir}: cannot take its lock (${storageCause(err)})`,
        {
          stateDir,
        },
      );
    }
    const lock = new StateDirLock(db, stateDir);
    const owner: LockOwner = {
      pid: process.pid,
      hostname: os.hostname(),
      started_at: new Date().toISOString(),
      data_root: dataRoot,
    };
    try {
      const tmp = path.join(stateDir, `${OWNER_FILE}.${process.pid}.tmp`);
      fs.writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
      fs.renameSync(tmp, path.join(stateDir, OWNER_FILE));
    } catch (err) {
      lock.release();
      throw new StateDirError(
        'state_dir_unusable',
        `state dir ${stateDir}: cannot write ${OWNER_FILE} (${storageCause(err)})`,
        {
          stateDir,
        },
      );
    }
    return lock;
  }

  /** Releases the lock (closing the connection ends the transaction); idempotent. */
  release(): void {
    if (!this.db.open) return;
    try {
      if (readOwner(this.stateDir)?.pid === process.pid)
        fs.rmSync(path.join(this.stateDir, OWNER_FILE), { force: true });
    } catch {
      // The note is informative only; the lock is what counts.
    }
    this.db.close();
  }
}

function readOwner(stateDir: string): LockOwner | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, OWNER_FILE), 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/** False only when `pid` is certainly gone on this machine (another machine's pid cannot be asked). */
function mayBeAlive(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) !== 'ESRCH';
  }
}

function lockedError(stateDir: string): StateDirError {
  // A dead pid in owner.json is an earlier owner's: the new one has the lock but has not written
  // its note yet (a moment's window), so its pid is unknown rather than wrong.
  const recorded = readOwner(stateDir);
  const owner = recorded && mayBeAlive(recorded) ? recorded : null;
  const who = owner
    ? `pid ${owner.pid}${owner.hostname !== os.hostname() ? ` on ${owner.hostname}` : ''} (since ${owner.started_at})`
    : 'another process (its pid is not recorded yet)';
  return new StateDirError(
    'state_dir_locked',
    `state dir ${stateDir} is in use by ${who}: one dashboard per state dir (pass another --state-dir)`,
    { stateDir, pid: owner?.pid ?? null },
  );
}
