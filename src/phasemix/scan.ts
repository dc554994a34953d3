import fs from 'node:fs';
import path from 'node:path';
import type { Yielder } from './yielder.js';

/** One episode tarball on disk: `episodes/<host_id>/<name>.tar.zst`. */
export interface EpisodeFile {
  /** Path relative to the data root, `/`-separated (the cache key). */
  rel: string;
  host: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

export const EPISODE_SUFFIX = '.tar.zst';

/**
 * Every episode file under `<dataRoot>/episodes/`: regular files (symlinks followed, as the seed)
 * ending in `.tar.zst`, one folder level down. Temp uploads and other files are not episodes. A
 * missing folder is an empty population; a file that vanishes mid-scan is left out.
 *
 * With `known` (the previous listing), a name already listed keeps its size and mtime without a
 * new `stat`: tarballs are immutable once complete, so a quick refresh costs the folder listings
 * plus the new files only. A full scan (no `known`) now and then catches files rewritten in place.
 */
export async function listEpisodeFiles(
  dataRoot: string,
  yielder: Yielder,
  known: ReadonlyMap<string, EpisodeFile> | null = null,
): Promise<EpisodeFile[]> {
  const episodesDir = path.join(dataRoot, 'episodes');
  const files: EpisodeFile[] = [];
  for (const hostEntry of readDir(episodesDir)) {
    const hostDir = path.join(episodesDir, hostEntry.name);
    if (!isKind(hostEntry, hostDir, 'dir')) continue;
    for (const name of readNames(hostDir)) {
      if (!name.endsWith(EPISODE_SUFFIX)) continue;
      const rel = `episodes/${hostEntry.name}/${name}`;
      const previous = known?.get(rel);
      if (previous) {
        files.push(previous);
        continue;
      }
      const abs = path.join(hostDir, name);
      const st = fs.statSync(abs, { throwIfNoEntry: false });
      if (!st?.isFile()) continue;
      files.push({
        rel,
        host: hostEntry.name,
        abs,
        size: st.size,
        mtimeMs: Math.trunc(st.mtimeMs),
      });
      if (yielder.due()) await yielder.pause();
    }
  }
  return files;
}

function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    // Missing or unreadable folder: nothing to count there (the seed skips it the same way).
    return [];
  }
}

/** Plain names (no Dirent objects): the per-file type comes from the `stat` of new names. */
function readNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isKind(entry: fs.Dirent, abs: string, kind: 'dir'): boolean {
  if (entry.isSymbolicLink()) {
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    return kind === 'dir' && st?.isDirectory() === true;
  }
  return kind === 'dir' && entry.isDirectory();
}
