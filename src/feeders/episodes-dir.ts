import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostDisk } from '../protocol/index.js';
import { errnoCode } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { mapLimit } from '../util/map-limit.js';
import { DirWatch } from './dir-watch.js';
import { WatchedFolder } from './watched-folder.js';

/** Stats of one host's files in flight at once (the first scan of a large root is thousands). */
const STATS_IN_FLIGHT = 64;
/** Host folders scanned at once. */
const HOSTS_IN_FLIGHT = 8;

/** Only complete tarballs are episodes: temp uploads, checksum files and the like are not (DESIGN §4.8). */
export function isEpisodeFile(name: string): boolean {
  return name.endsWith('.tar.zst') && !name.startsWith('.');
}

export interface EpisodesDirOptions {
  dataRoot: string;
  logger: Logger;
  rescanIntervalMs: number;
  /** A host's file count or bytes changed (files 0 and bytes 0 when its folder is gone). */
  onHostChange(host: string, disk: HostDisk): void;
  /** New or changed episode files appeared (the phase mix refreshes, debounced). */
  onNewFiles?(count: number): void;
}

/**
 * Keeps `episodes/<host>/*.tar.zst` counts and bytes per host current: a full scan at start and on
 * a timer, and per-file updates from directory notifications in between.
 */
export class EpisodesDirFeeder {
  private readonly root: string;
  private readonly hosts = new Map<string, Map<string, number>>();
  private readonly watches = new Map<string, DirWatch>();
  /** Per host, bumped by every file event: a scan that overlapped one looks again. */
  private readonly generation = new Map<string, number>();
  private readonly folder: WatchedFolder;
  private missingReported = false;
  private stopped = false;
  private scans = 0;
  private errors = 0;

  constructor(private readonly options: EpisodesDirOptions) {
    this.folder = new WatchedFolder({
      dataRoot: options.dataRoot,
      name: 'episodes',
      rescanIntervalMs: options.rescanIntervalMs,
      scan: () => this.scanAll(),
    });
    this.root = this.folder.dir;
  }

  /** Runs the first full scan; resolves when it is done. */
  start(): Promise<void> {
    return this.folder.start();
  }

  stop(): void {
    this.stopped = true;
    this.folder.stop();
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Files and bytes per host as last seen. */
  disk(): Record<string, HostDisk> {
    const out: Record<string, HostDisk> = {};
    for (const [host, files] of this.hosts) out[host] = summarize(files);
    return out;
  }

  stats(): { scans: number; errors: number; hosts: number; files: number } {
    let files = 0;
    for (const m of this.hosts.values()) files += m.size;
    return { scans: this.scans, errors: this.errors, hosts: this.hosts.size, files };
  }

  /** A full rescan; calls during one share it, and a change seen mid-scan runs one more. */
  scan(): Promise<void> {
    return this.folder.request();
  }

  private async scanAll(): Promise<void> {
    this.scans++;
    // Armed first: if the folder is missing, the data-root watch notices it appearing.
    this.folder.ensureWatches();
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.root, { withFileTypes: true });
    } catch (err) {
      if (!this.missingReported) {
        this.missingReported = true;
        this.options.logger.warn(
          { dir: this.root, code: errnoCode(err) },
          'episodes folder not readable yet',
        );
      }
      for (const host of [...this.hosts.keys()]) this.dropHost(host);
      return;
    }
    if (this.missingReported) {
      this.missingReported = false;
      this.options.logger.info({ dir: this.root }, 'episodes folder appeared');
    }
    const hosts = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    const seen = new Set(hosts);
    // Hosts side by side, each with many stats in flight: during the first pass the main thread
    // answers I/O only between index ranges, so every round trip waits for one; the folders must
    // not take more of them than the index does.
    await mapLimit(hosts, HOSTS_IN_FLIGHT, (host) => this.scanHost(host));
    for (const host of [...this.hosts.keys()]) if (!seen.has(host)) this.dropHost(host);
  }

  private async scanHost(host: string): Promise<void> {
    const generation = this.generation.get(host) ?? 0;
    const dir = path.join(this.root, host);
    // Watch before listing: a file that lands between the two is then seen by one or the other.
    this.watchHost(host);
    let names: import('node:fs').Dirent[];
    try {
      names = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      this.errors++;
      this.dropHost(host);
      return;
    }
    // Symlinks are not counted: an episode is a regular file under the host's folder.
    const episodes = names.filter((entry) => entry.isFile() && isEpisodeFile(entry.name)).map((e) => e.name);
    const sizes = await mapLimit(episodes, STATS_IN_FLIGHT, (name) =>
      fs.stat(path.join(dir, name)).then(
        (st) => st.size,
        // Gone between readdir and stat (a rename in flight): the next event or scan settles it.
        () => null,
      ),
    );
    const files = new Map<string, number>();
    episodes.forEach((name, i) => {
      const size = sizes[i];
      if (size !== null && size !== undefined) files.set(name, size);
    });
    this.replaceHost(host, files);
    // A file event during the scan may predate what the listing saw: look once more.
    if ((this.generation.get(host) ?? 0) !== generation && !this.stopped) await this.scanHost(host);
  }

  private watchHost(host: string): void {
    let w = this.watches.get(host);
    if (!w) {
      w = new DirWatch(path.join(this.root, host), (name) => void this.onHostEvent(host, name));
      this.watches.set(host, w);
    }
    w.ensure();
  }

  private async onHostEvent(host: string, name: string | null): Promise<void> {
    if (this.stopped) return;
    if (name === null) {
      await this.scanHost(host);
      return;
    }
    if (!isEpisodeFile(name)) return;
    this.generation.set(host, (this.generation.get(host) ?? 0) + 1);
    let size: number | null = null;
    try {
      const st = await fs.lstat(path.join(this.root, host, name));
      if (st.isFile()) size = st.size;
    } catch {
      // Gone (renamed away or deleted).
    }
    // Applied to the map as it is NOW: several events of a burst are in flight at once, and a copy
    // taken before the await would let the last one undo the others.
    const files = new Map(this.hosts.get(host) ?? []);
    if (size === null) files.delete(name);
    else files.set(name, size);
    this.replaceHost(host, files);
  }

  private replaceHost(host: string, files: Map<string, number>): void {
    const before = this.hosts.get(host);
    let added = 0;
    for (const [name, size] of files) if (before?.get(name) !== size) added++;
    const prev = before ? summarize(before) : { files: 0, bytes: 0 };
    const next = summarize(files);
    this.hosts.set(host, files);
    if (prev.files !== next.files || prev.bytes !== next.bytes) this.options.onHostChange(host, next);
    if (added > 0) this.options.onNewFiles?.(added);
  }

  private dropHost(host: string): void {
    if (!this.hosts.delete(host)) return;
    this.watches.get(host)?.close();
    this.watches.delete(host);
    this.options.onHostChange(host, { files: 0, bytes: 0 });
  }
}

function summarize(files: Map<string, number>): HostDisk {
  let bytes = 0;
  for (const size of files.values()) bytes += size;
  return { files: files.size, bytes };
}
