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
  /** By file name (no folder: looking up each name a folder lists needs no string building). */
  files: Map<string, EpisodeFile>;
}

/** What a scan changed in the listings it was given. */
export interface HostChanges {
  /** Hosts listed again, each with its listing from before (none: a host new to the listings). */
  relisted: Map<string, HostListing | undefined>;
  /** Host folders gone since the last scan, with their last listing. */
  removed: Map<string, HostListing>;
}

/**
 * A folder whose mtime has not moved since a listing taken well after that mtime has the same
 * names (adding, removing or renaming an entry moves it); the margin covers coarse timestamps.
 */
const MTIME_MARGIN_MS = 2_000;

/**
 * Brings `listings` (host → its episode files) up to date with `<dataRoot>/episodes/` and says
 * which hosts changed. Episode files are regular files (symlinks followed, as the seed) ending in
 * `.tar.zst`, one folder level down; temp uploads and other files are not episodes. A missing
 * folder is an empty population; a file that vanishes mid-scan is left out.
 *
 * A quick scan (`full` false) costs one `stat` per host folder: a folder whose mtime has not moved
 * is not read again, and in a folder that did, a name already listed keeps its size and mtime
 * without a new `stat` (tarballs are immutable once complete). A full scan lists and `stat`s
 * everything, to catch what a quick one cannot see (a file rewritten in place, an mtime put back).
 */
export async function scanHosts(
  dataRoot: string,
  yielder: Yielder,
  listings: Map<string, HostListing>,
  full: boolean,
): Promise<HostChanges> {
  const episodesDir = path.join(dataRoot, 'episodes');
  const relisted = new Map<string, HostListing | undefined>();
  const seenHosts = new Set<string>();
  for (const hostEntry of readDir(episodesDir)) {
    const host = hostEntry.name;
    const hostDir = path.join(episodesDir, host);
    if (!isKind(hostEntry, hostDir, 'dir')) continue;
    seenHosts.add(host);
    const dirMtimeMs = fs.statSync(hostDir, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    const previous = listings.get(host);
    if (
      !full &&
      previous &&
      dirMtimeMs >= 0 &&
      previous.dirMtimeMs === dirMtimeMs &&
      previous.listedAtMs - dirMtimeMs > MTIME_MARGIN_MS
    ) {
      continue;
    }
    const listedAtMs = Date.now();
    const files = new Map<string, EpisodeFile>();
    for (const name of readNames(hostDir)) {
      if (!name.endsWith(EPISODE_SUFFIX)) continue;
      const known = full ? undefined : previous?.files.get(name);
      if (known) {
        files.set(name, known);
        continue;
      }
      const rel = `episodes/${host}/${name}`;
      const abs = path.join(hostDir, name);
      const st = fs.statSync(abs, { throwIfNoEntry: false });
      if (!st?.isFile()) continue;
      files.set(name, { rel, host, abs, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
      if (yielder.due()) await yielder.pause();
    }
    listings.set(host, { dirMtimeMs, listedAtMs, files });
    relisted.set(host, previous);
  }
  const removed = new Map<string, HostListing>();
  for (const [host, listing] of listings) {
    if (seenHosts.has(host)) continue;
    removed.set(host, listing);
    listings.delete(host);
  }
  return { relisted, removed };
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

/** Whether `listings` holds the episode file at `rel` (`episodes/<host>/<name>`) of `host`. */
export function isListed(listings: ReadonlyMap<string, HostListing>, host: string, rel: string): boolean {
  return listings.get(host)?.files.has(rel.slice(rel.lastIndexOf('/') + 1)) === true;
}
