import { DashboardError, errnoCode, errorMessage } from '../util/errors.js';

/** A state dir the dashboard cannot use: the CLI prints its one line and exits 2. */
export class StateDirError extends DashboardError {
  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
    this.name = 'StateDirError';
  }
}

/** What storage trouble an error is, as a stable code; null for anything else. */
export const STORAGE_FAULTS = [
  'disk_full',
  'read_only',
  'no_permission',
  'corrupt',
  'io_error',
  'gone',
] as const;
export type StorageFault = (typeof STORAGE_FAULTS)[number];

const FAULT_BY_CODE: Record<string, StorageFault> = {
  ENOSPC: 'disk_full',
  EDQUOT: 'disk_full',
  SQLITE_FULL: 'disk_full',
  EROFS: 'read_only',
  SQLITE_READONLY: 'read_only',
  SQLITE_READONLY_DBMOVED: 'read_only',
  SQLITE_READONLY_DIRECTORY: 'read_only',
  EACCES: 'no_permission',
  EPERM: 'no_permission',
  SQLITE_PERM: 'no_permission',
  SQLITE_CORRUPT: 'corrupt',
  SQLITE_NOTADB: 'corrupt',
  EIO: 'io_error',
};

export function storageFault(err: unknown): StorageFault | null {
  const code = errnoCode(err);
  if (code === undefined) return null;
  return FAULT_BY_CODE[code] ?? (code.startsWith('SQLITE_IOERR') ? 'io_error' : null);
}

const WORDS: Record<StorageFault, string> = {
  disk_full: 'no space left on device',
  read_only: 'read-only file system',
  no_permission: 'permission denied',
  corrupt: 'not a valid SQLite database',
  io_error: 'I/O error',
  gone: 'removed while in use',
};

/** A short cause for a one-line message: the fault in words, and the system's own wording. */
export function storageCause(err: unknown): string {
  const fault = storageFault(err);
  const own = errorMessage(err).replace(/\s+/g, ' ').slice(0, 200);
  if (!fault || own.toLowerCase().includes(WORDS[fault])) return own;
  return `${WORDS[fault]}: ${own}`;
}
