/**
 * What an episode file is, in one place, for every walker of `<dataRoot>/episodes/` (the host
 * counts, the phase mix, the integrity verifier):
 *
 * - a **host folder** is a real directory directly under `episodes/` whose name does not start
 *   with `.`; a symlink to a directory is not followed (it would count another tree's files, or
 *   the same ones twice);
 * - an **episode file** is a regular file directly in a host folder whose name ends in `.tar.zst`
 *   and does not start with `.` (rsync and most uploaders write `.name.XXXX` temp files);
 *   symlinks, FIFOs, folders, `*.tar.zst.tmp` partial uploads and checksum files are not episodes.
 */
import { type Dir, type Dirent, lstat } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { mapLimit } from '../util/map-limit.js';
import { createYielder, type Yielder } from '../util/yielder.js';

export const EPISODE_SUFFIX = '.tar.zst';

/** Stats in flight at once while listing one host folder (libuv's pool does the rest). */
const STATS_IN_FLIGHT = 64;
/** Host folders listed at once by `scanHosts`. */
const HOSTS_IN_FLIGHT = 8;

/** Whether a file name is an episode's (the name rule; the entry must also be a regular file). */
export function isEpisodeFile(name: string): boolean {
  return name.endsWith(EPISODE_SUFFIX) && name.length > EPISODE_SUFFIX.length && !name.startsWith('.');
}

/** Whether a directory entry of `episodes/` is a host folder. */
export function isHostFolder(entry: Dirent): boolean {
  return entry.isDirectory() && !entry.name.startsWith('.');
}

/** Whether a directory entry of a host folder is an episode file. */
export function isEpisodeEntry(entry: Dirent): boolean {
  return entry.isFile() && isEpisodeFile(entry.name);
}

/** The host folders under `episodesDir`; null when it cannot be read (missing, not a folder). */
export async function listHostFolders(episodesDir: string): Promise<string[] | null> {
  try {
    const entries = await fs.readdir(episodesDir, { withFileTypes: true });
    return entries.filter(isHostFolder).map((e) => e.name);
  } catch {
    return null;
  }
}

/** Directory entries read per trip to libuv's pool while listing a host folder. */
const DIR_BUFFER = 512;

/**
 * The episode file names in one host folder; null when it cannot be read. Read with `opendir` a
 * few hundred entries at a time and checked in slices (`yielder`): a folder of 200,000 names never
 * becomes one array of 200,000 `Dirent`s built in one go (hundreds of ms on a loaded box, and as
 * much again in garbage collection).
 */
export async function listEpisodeNames(
  hostDir: string,
  yielder: Yielder = createYielder(),
): Promise<string[] | null> {
  let dir: Dir;
  try {
    dir = await fs.opendir(hostDir, { bufferSize: DIR_BUFFER });
  } catch {
    return null;
  }
  const names: string[] = [];
  try {
    for await (const entry of dir) {
      if (isEpisodeEntry(entry)) names.push(entry.name);
      if (yielder.due()) await yielder.pause();
    }
  } catch {
    return null; // The iterator closes the handle on an error too.
  }
  return names;
}

/**
 * Size and mtime of an episode file, without following a symlink; null when gone or not a file.
 * Through the callback `lstat`: the promise one costs this thread about twice as much per file
 * (measured: 30–40 ms against 10–20 ms of main-thread CPU for 2,000 files), and a cold start
 * lists every file while the first pass wants the same thread.
 */
export function statEpisode(abs: string): Promise<{ size: number; mtimeMs: number } | null> {
  return new Promise((resolve) => {
    try {
      lstat(abs, (err, st) => {
        resolve(!err && st.isFile() ? { size: st.size, mtimeMs: Math.trunc(st.mtimeMs) } : null);
      });
    } catch {
      resolve(null); // A path lstat refuses outright (a NUL byte) names no file.
    }
  });
}

/** One episode tarball on disk: `episodes/<host>/<name>.tar.zst`. */
export interface EpisodeFile {
  /** Path relative to the data root, `/`-separated (the phase cache's and catalog's key). */
  rel: string;
  host: string;
  size: number;
  mtimeMs: number;
}

/** A host folder as last listed: its mtime then, when it was listed, and its episode files. */
export interface HostListing {
  dirMtimeMs: number;
  listedAtMs: number;
  /** By file name. */
  files: Map<string, EpisodeFile>;
}

/** What a scan changed in the listings it was given. */
export interface HostChanges {
  /** Hosts listed again, each with its listing from before (none: a host new to the listings). */
  relisted: Map<string, HostListing | undefined>;
  /** Host folders gone since the last scan, with their last listing. */
  removed: Map<string, HostListing>;
  /** False when `episodes/` itself could not be read (every host then counts as removed). */
  readable: boolean;
  /** Host folders `episodes/` lists that could not be listed themselves (no permission, gone). */
  unlisted: string[];
}

/**
 * A folder whose mtime has not moved since a listing taken well after that mtime has the same
 * names (adding, removing or renaming an entry moves it); the margin covers coarse timestamps.
 */
const MTIME_MARGIN_MS = 2_000;

/**
 * Whether a listing was taken well after its folder last changed: a quick look at an unchanged
 * folder then trusts it. A listing of a folder still changing (a burst landing) is not settled.
 */
export function isSettled(listing: HostListing): boolean {
  return listing.listedAtMs - listing.dirMtimeMs > MTIME_MARGIN_MS;
}

/**
 * Brings `listings` (host → its episode files) up to date with `<dataRoot>/episodes/` and says
 * which hosts changed. A missing folder is an empty population; a file that vanishes mid-scan is
 * left out. All I/O is asynchronous (a folder of 200,000 names never blocks the event loop).
 *
 * A quick scan (`full` false) costs one `lstat` per host folder: a folder whose mtime has not moved
 * is not read again, and in a folder that did, a name already listed keeps its size and mtime
 * without a new `lstat` (tarballs are immutable once complete): a burst costs the files it added.
 * A full scan lists and `lstat`s everything, to catch what a quick one cannot see (a file
 * rewritten in place, an mtime put back).
 */
export async function scanHosts(
  dataRoot: string,
  listings: Map<string, HostListing>,
  full: boolean,
): Promise<HostChanges> {
  const episodesDir = path.join(dataRoot, 'episodes');
  const relisted = new Map<string, HostListing | undefined>();
  const removed = new Map<string, HostListing>();
  const unlisted: string[] = [];
  const hosts = await listHostFolders(episodesDir);
  const seen = new Set(hosts ?? []);
  // Several hosts at a time: each listing is a few round trips to the thread pool, and during the
  // first pass this thread takes I/O only between index ranges (24 hosts one after another made
  // the folder scan, not the index, the last part of a cold start to finish).
  const previousOf = new Map((hosts ?? []).map((host) => [host, listings.get(host)]));
  const listed = await mapLimit(hosts ?? [], HOSTS_IN_FLIGHT, (host) =>
    listHost(episodesDir, host, previousOf.get(host), full),
  );
  for (const [i, host] of (hosts ?? []).entries()) {
    const previous = previousOf.get(host);
    const listing = listed[i] as HostListing | null;
    if (listing === null) {
      seen.delete(host);
      unlisted.push(host);
      continue;
    }
    if (listing === previous) continue;
    listings.set(host, listing);
    relisted.set(host, previous);
  }
  for (const [host, listing] of listings) {
    if (seen.has(host)) continue;
    removed.set(host, listing);
    listings.delete(host);
  }
  return { relisted, removed, readable: hosts !== null, unlisted };
}

/**
 * Lists one host folder: `previous` itself when a quick look (`full` false) finds its mtime
 * unchanged, else a new listing that (on a quick look) reuses `previous`'s entries for the names
 * it knows and `lstat`s the rest. Null when the folder is gone or not a real directory.
 */
export async function listHost(
  episodesDir: string,
  host: string,
  previous: HostListing | undefined,
  full: boolean,
): Promise<HostListing | null> {
  const hostDir = path.join(episodesDir, host);
  const dir = await fs.lstat(hostDir).catch(() => null);
  if (!dir?.isDirectory()) return null;
  if (!full && previous && previous.dirMtimeMs === dir.mtimeMs && isSettled(previous)) return previous;
  const listedAtMs = Date.now();
  // A folder of 200,000 names is a few hundred ms of listing and map work on a busy box: in 10 ms slices.
  const yielder = createYielder();
  const names = await listEpisodeNames(hostDir, yielder);
  if (names === null) return null;
  const files = new Map<string, EpisodeFile>();
  const fresh: string[] = [];
  for (const name of names) {
    const known = full ? undefined : previous?.files.get(name);
    if (known) files.set(name, known);
    else fresh.push(name);
    if (yielder.due()) await yielder.pause();
  }
  const stats = await mapLimit(fresh, STATS_IN_FLIGHT, (name) => statEpisode(path.join(hostDir, name)));
  fresh.forEach((name, i) => {
    const st = stats[i];
    if (st) files.set(name, episodeFile(host, name, st));
  });
  return { dirMtimeMs: dir.mtimeMs, listedAtMs, files };
}

/** The entry of file `name` of `host` with its `lstat` figures. */
export function episodeFile(host: string, name: string, st: { size: number; mtimeMs: number }): EpisodeFile {
  return { rel: `episodes/${host}/${name}`, host, size: st.size, mtimeMs: st.mtimeMs };
}

/** Whether `listings` holds the episode file at `rel` (`episodes/<host>/<name>`) of `host`. */
export function isListed(listings: ReadonlyMap<string, HostListing>, host: string, rel: string): boolean {
  return listings.get(host)?.files.has(rel.slice(rel.lastIndexOf('/') + 1)) === true;
}

/**
 * The files a scan took out of the listings (gone, or replaced by a new size or mtime) and the ones
 * it put in (new, or the replacements). Costs the hosts listed again, not the whole population.
 * A quick scan keeps the very object of a file it already knew; a full one compares values.
 */
export async function diffListings(
  changes: HostChanges,
  listings: ReadonlyMap<string, HostListing>,
  yielder: Yielder = createYielder(),
): Promise<{ left: EpisodeFile[]; entered: EpisodeFile[] }> {
  const left: EpisodeFile[] = [];
  const entered: EpisodeFile[] = [];
  const same = (a: EpisodeFile | undefined, b: EpisodeFile) =>
    a !== undefined && (a === b || (a.size === b.size && a.mtimeMs === b.mtimeMs));
  // Two walks over a folder's files: in 10 ms slices, so a relisted folder of 200,000 never holds
  // the event loop (/livez) for the whole walk.
  for (const listing of changes.removed.values()) for (const f of listing.files.values()) left.push(f);
  for (const [host, before] of changes.relisted) {
    const after = listings.get(host)?.files ?? new Map<string, EpisodeFile>();
    if (before) {
      for (const [name, f] of before.files) {
        if (!same(after.get(name), f)) left.push(f);
        if (yielder.due()) await yielder.pause();
      }
    }
    for (const [name, f] of after) {
      if (!same(before?.files.get(name), f)) entered.push(f);
      if (yielder.due()) await yielder.pause();
    }
  }
  return { left, entered };
}
