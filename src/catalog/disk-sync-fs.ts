import {
  diffListings,
  EPISODE_SUFFIX,
  type EpisodeFile,
  type HostListing,
  scanHosts,
} from '../feeders/episode-files.js';
import type { DiskFile, FileChanges } from './disk-sync.js';

/** The catalog's shape of a listed episode file. */
export function toDiskFile(f: EpisodeFile): DiskFile {
  return {
    relPath: f.rel,
    hostId: f.host,
    episodeId: f.rel.slice(f.rel.lastIndexOf('/') + 1, -EPISODE_SUFFIX.length),
    size: f.size,
    mtimeMs: f.mtimeMs,
  };
}

/**
 * What files that left and entered a listing change in `disk_files`: the ones that entered are
 * upserted; of the ones that left, those that did not enter again (replaced by a new size or
 * mtime) are gone.
 */
export function fileChanges({ left, entered }: { left: EpisodeFile[]; entered: EpisodeFile[] }): FileChanges {
  const back = new Set(entered.map((f) => f.rel));
  return {
    upserts: entered.map(toDiskFile),
    removals: left.filter((f) => !back.has(f.rel)).map((f) => f.rel),
  };
}

/** Every file of `listings`, in the catalog's shape. */
export function allDiskFiles(listings: ReadonlyMap<string, HostListing>): DiskFile[] {
  const out: DiskFile[] = [];
  for (const listing of listings.values()) for (const f of listing.files.values()) out.push(toDiskFile(f));
  return out;
}

/**
 * Keeps a listing of `<dataRoot>/episodes/` (the one rule of what an episode file is:
 * `feeders/episode-files.ts`) and says what changed since the last look, for the catalog's
 * `disk_files`. A quick look reads only host folders whose mtime moved and `lstat`s only new names
 * (a burst costs the files it added); a full one `lstat`s everything.
 */
export class DiskListing {
  private readonly listings = new Map<string, HostListing>();
  /** True until a look has returned every file (and again after `reset`). */
  private fresh = true;

  constructor(private readonly dataRoot: string) {}

  /**
   * Lists again and returns the changes since the previous look, or (on the first look, and the
   * first after `reset`) every file, to be compared with the catalog by `DiskSync.diffWithCatalog`.
   */
  async look(full: boolean): Promise<{ changes: FileChanges } | { all: DiskFile[] }> {
    const scan = await scanHosts(this.dataRoot, this.listings, full || this.fresh);
    if (this.fresh) {
      this.fresh = false;
      return { all: allDiskFiles(this.listings) };
    }
    return { changes: fileChanges(await diffListings(scan, this.listings)) };
  }

  /**
   * Every file, from a listing of its own that is not kept (a thread fed with the changes lists
   * only to compare the catalog with the disk now and then, and keeps no copy of 200,000 entries).
   */
  async lookAll(): Promise<DiskFile[]> {
    const listings = new Map<string, HostListing>();
    await scanHosts(this.dataRoot, listings, true);
    return allDiskFiles(listings);
  }

  /** Forgets the listing: the next look returns every file (after changes failed to apply). */
  reset(): void {
    this.listings.clear();
    this.fresh = true;
  }
}
