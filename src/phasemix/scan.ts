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

/** A host folder as last listed: its mtime then, when it was listed, and its episode files. */
export interface HostListing {
  dirMtimeMs: number;
  listedAtMs: number;
  files: EpisodeFile[];
}

/**
 * A folder whose mtime has not moved since a listing taken well after that mtime has the same
 * names (adding, removing or renaming an entry moves it); the margin covers coarse timestamps.
 */
const MTIME_MARGIN_MS = 2_000;

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
  hostListings: Map<string, HostListing> | null = null,
): Promise<EpisodeFile[]> {
  const episodesDir = path.join(dataRoot, 'episodes');
  const files: EpisodeFile[] = [];
  const seenHosts = new Set<string>();
  for (const hostEntry of readDir(episodesDir)) {
    const hostDir = path.join(episodesDir, hostEntry.name);
    if (!isKind(hostEntry, hostDir, 'dir')) continue;
    seenHosts.add(hostEntry.name);
    // With `hostListings` (and `known`), a folder unchanged since its last listing is not read
    // again: a quick refresh then costs one stat per host plus the folders that changed.
    const dirMtimeMs = hostListings ? (fs.statSync(hostDir, { throwIfNoEntry: false })?.mtimeMs ?? -1) : -1;
    const previous = hostListings?.get(hostEntry.name);
    if (
      known &&
      previous &&
      dirMtimeMs >= 0 &&
      previous.dirMtimeMs === dirMtimeMs &&
      previous.listedAtMs - dirMtimeMs > MTIME_MARGIN_MS
    ) {
      for (const f of previous.files) files.push(f);
      continue;
    }
    const listedAtMs = Date.now();
    const first = files.length;
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
    hostListings?.set(hostEntry.name, { dirMtimeMs, listedAtMs, files: files.slice(first) });
  }
  if (hostListings)
    for (const host of [...hostListings.keys()]) if (!seenHosts.has(host)) hostListings.delete(host);
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
