import fs from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p` one level at a time, for every folder a user names (state dir, generated root, demo
 * dir). Node 20's recursive `mkdir` reports ENOENT on a read-only file system, hiding the cause
 * (EROFS, EACCES) the one-line error should name, and under `/proc` it never returns at all.
 */
export function makeFolder(dir: string, mode?: number): void {
  if (fs.existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeFolder(parent);
  try {
    fs.mkdirSync(dir, mode === undefined ? {} : { mode });
  } catch (err) {
    // Made meanwhile (another process, or a parallel call): what was asked for is there.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(dir).isDirectory()) throw err;
  }
}
