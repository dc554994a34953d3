import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE } from '../catalog/db.js';

/** Left by a server that met a corrupt page while running: the next start sets the catalog aside. */
export const CORRUPT_MARKER = 'catalog.corrupt';

/** Leaves the marker for the next start; false when even that cannot be written. */
export function markCatalogCorrupt(stateDir: string, why: string): boolean {
  try {
    fs.writeFileSync(path.join(stateDir, CORRUPT_MARKER), `${new Date().toISOString()} ${why}\n`);
    return true;
  } catch {
    return false;
  }
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER = 100;

/**
 * Damage visible without opening the catalog: a file shorter than SQLite's header, a header
 * overwritten, or (with no write-ahead log beside it, i.e. after a clean stop) fewer bytes than
 * the header's page count says. Null when it looks whole or is absent (a fresh catalog).
 */
export function catalogDamage(stateDir: string): string | null {
  const file = path.join(stateDir, DB_FILE);
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return null;
  }
  if (size === 0) return null;
  if (size < HEADER) return `truncated to ${size} bytes, shorter than a SQLite header`;
  const head = Buffer.alloc(HEADER);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, HEADER, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!head.subarray(0, MAGIC.length).equals(MAGIC)) return 'overwritten: it has no SQLite header';
  const rawPageSize = head.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = head.readUInt32BE(28);
  // The page count is valid only when the change counter matches "version-valid-for" (file format
  // §1.3.7). With a WAL beside the file, pages may still live only in the WAL: no verdict then.
  const valid = pages > 0 && head.readUInt32BE(24) === head.readUInt32BE(92);
  if (valid && walSize(file) === 0 && size < pages * pageSize) {
    return `truncated to ${size} bytes, its header says ${pages * pageSize}`;
  }
  return null;
}

function walSize(file: string): number {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/**
 * Moves the catalog (with its WAL and shared-memory files, so it stays readable for a post-mortem)
 * to `catalog.<why>-<UTC time>.sqlite` in the same state dir; returns that path. Only the lock
 * holder calls this, with every connection to the catalog closed.
 */
export function setCatalogAside(stateDir: string, why: 'corrupt' | 'other-root'): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const from = path.join(stateDir, DB_FILE);
  let to = path.join(stateDir, `catalog.${why}-${stamp}.sqlite`);
  for (let n = 2; fs.existsSync(to); n++) to = path.join(stateDir, `catalog.${why}-${stamp}-${n}.sqlite`);
  for (const suffix of ['-wal', '-shm', '']) {
    try {
      fs.renameSync(`${from}${suffix}`, `${to}${suffix}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  fs.rmSync(path.join(stateDir, CORRUPT_MARKER), { force: true });
  return to;
}
