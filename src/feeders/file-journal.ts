import type { EpisodeFile, HostListing } from './episode-files.js';

/**
 * The net changes to a listing of episode files since the last `take()`, kept by the one walker
 * of `episodes/` (the host-folder feeder) for another that follows the same files (the phase mix):
 * it then costs the files that changed, not a listing of its own of every folder.
 */
export class FileJournal {
  /** By relative path: the file as of the last `take()` and as of now (undefined: not listed). */
  private changes = new Map<string, { before: EpisodeFile | undefined; after: EpisodeFile | undefined }>();

  /**
   * File `before` (undefined: it was not listed) is now `after` (undefined: gone). Of a file
   * replaced, record the one leaving before the one entering.
   */
  record(before: EpisodeFile | undefined, after: EpisodeFile | undefined): void {
    const rel = before?.rel ?? after?.rel;
    if (rel === undefined) return;
    const change = this.changes.get(rel);
    if (change) change.after = after;
    else this.changes.set(rel, { before, after });
  }

  /** Changes recorded and not taken yet. */
  get size(): number {
    return this.changes.size;
  }

  /**
   * The files that left (gone, or replaced) and entered (new, or the replacements), and of the
   * ones that left, those gone (not replaced); then forgets them.
   */
  take(): { left: EpisodeFile[]; entered: EpisodeFile[]; gone: Set<string> } {
    const left: EpisodeFile[] = [];
    const entered: EpisodeFile[] = [];
    const gone = new Set<string>();
    for (const [rel, { before, after }] of this.changes) {
      if (before === after) continue;
      if (before && after && before.size === after.size && before.mtimeMs === after.mtimeMs) continue;
      if (before) left.push(before);
      if (after) entered.push(after);
      else gone.add(rel);
    }
    this.changes = new Map();
    return { left, entered, gone };
  }
}

/** The episode files of `episodes/` as one walker keeps them, for others to follow (see FileJournal). */
export interface EpisodeFileSource {
  /** The current listing, host → its files (read synchronously: it changes between turns). */
  listings(): ReadonlyMap<string, HostListing>;
  /** A new journal of every change from now on. */
  journal(): FileJournal;
}
