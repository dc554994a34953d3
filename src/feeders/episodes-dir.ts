import path from 'node:path';
import { dict, type HostDisk } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { mapLimit } from '../util/map-limit.js';
import { createYielder } from '../util/yielder.js';
import { DirWatch } from './dir-watch.js';
import {
  diffListings,
  episodeFile,
  type HostListing,
  isEpisodeFile,
  isSettled,
  listHost,
  listHostFolders,
  scanHosts,
  statEpisode,
} from './episode-files.js';
import { WatchedFolder } from './watched-folder.js';

/** Stats of notified names in flight at once. */
const STATS_IN_FLIGHT = 64;
/**
 * Notified names applied per step: a burst of 20,000 arrivals is applied (and published as one
 * `host_disk` event) a few thousand at a time, so counts move while it lands.
 */
const NAMES_PER_STEP = 4096;
/** A host with notifications is listed again this long after the first (lost ones are found). */
const RECONCILE_MS = 2_000;

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
 * a timer, and per-file updates from directory notifications in between (what an episode file is:
 * `episode-files.ts`).
 *
 * A burst costs the files it changed: a notification only queues its name (a set, so the two or
 * three events of one arrival are one `lstat`); one step at a time then `lstat`s the queued names,
 * updates the host's running count and bytes, and publishes one `host_disk` per host and step. Scans
 * and steps never overlap (one runs after the other), so a step never undoes a scan nor the reverse.
 */
export class EpisodesDirFeeder {
  private readonly root: string;
  private listings = new Map<string, HostListing>();
  /** Bytes per host: the sum of its listing's sizes, kept as files come and go. */
  private readonly bytes = new Map<string, number>();
  private readonly watches = new Map<string, DirWatch>();
  /** Names notified and not applied yet, per host. */
  private readonly pending = new Map<string, Set<string>>();
  /**
   * Hosts whose folder must be listed again, and whether every file is `lstat`ed again (`true`: a
   * notification without a name, a new watch) or only new names (`false`: a reconcile).
   */
  private readonly relist = new Map<string, boolean>();
  /** Per host, the reconcile due after its notifications (see `scheduleReconcile`). */
  private readonly reconcileTimers = new Map<string, NodeJS.Timeout>();
  /** Scans and notification steps run one after the other on this chain. */
  private chain: Promise<void> = Promise.resolve();
  private drainQueued = false;
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
      scan: () => this.exclusive(() => this.scanAll()),
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
    for (const t of this.reconcileTimers.values()) clearTimeout(t);
    this.reconcileTimers.clear();
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  /** Files and bytes per host as last seen. */
  disk(): Record<string, HostDisk> {
    const out = dict<HostDisk>();
    for (const host of this.listings.keys()) out[host] = this.hostDisk(host);
    return out;
  }

  stats(): { scans: number; errors: number; hosts: number; files: number; pending: number } {
    let files = 0;
    for (const l of this.listings.values()) files += l.files.size;
    let pending = 0;
    for (const names of this.pending.values()) pending += names.size;
    return { scans: this.scans, errors: this.errors, hosts: this.listings.size, files, pending };
  }

  /** A full rescan; calls during one share it, and a change seen mid-scan runs one more. */
  scan(): Promise<void> {
    return this.folder.request();
  }

  private exclusive(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private hostDisk(host: string): HostDisk {
    return { files: this.listings.get(host)?.files.size ?? 0, bytes: this.bytes.get(host) ?? 0 };
  }

  private async scanAll(): Promise<void> {
    if (this.stopped) return;
    this.scans++;
    // Armed first: if the folder is missing, the data-root watch notices it appearing; and each
    // host's watch before its listing, so a file landing between the two is seen by one or the other.
    this.folder.ensureWatches();
    for (const host of (await listHostFolders(this.root)) ?? []) this.watchHost(host);
    // On a copy, swapped in when complete: counts read meanwhile never mix old files and new bytes.
    const listings = new Map(this.listings);
    const changes = await scanHosts(this.options.dataRoot, listings, true);
    this.listings = listings;
    if (!changes.readable && !this.missingReported) {
      this.missingReported = true;
      this.options.logger.warn({ dir: this.root }, 'episodes folder not readable yet');
    } else if (changes.readable && this.missingReported) {
      this.missingReported = false;
      this.options.logger.info({ dir: this.root }, 'episodes folder appeared');
    }
    const added = (await diffListings(changes, this.listings)).entered.length;
    for (const host of changes.removed.keys()) this.dropHost(host);
    for (const host of changes.relisted.keys()) {
      // A host folder that appeared after the watches above were armed: its files landing before
      // its own watch are picked up by one more listing.
      if (!this.watches.has(host)) this.queueRelist(host, true);
      this.watchHost(host);
      await this.resum(host);
    }
    if (added > 0) this.options.onNewFiles?.(added);
  }

  /** Recomputes a host's bytes from its listing (after a scan relisted it) and publishes a change. */
  private async resum(host: string): Promise<void> {
    const listing = this.listings.get(host);
    let bytes = 0;
    const yielder = createYielder();
    for (const f of listing?.files.values() ?? []) {
      bytes += f.size;
      if (yielder.due()) await yielder.pause();
    }
    // Relisted or dropped meanwhile (a step never overlaps, but stay exact): sum what is there now.
    if (this.listings.get(host) !== listing) return;
    this.bytes.set(host, bytes);
    this.publish(host);
  }

  /** What was last published per host: a change is published once, and only a change. */
  private readonly published = new Map<string, HostDisk>();

  private publish(host: string): void {
    const disk = this.hostDisk(host);
    const last = this.published.get(host);
    if (last && last.files === disk.files && last.bytes === disk.bytes) return;
    this.published.set(host, disk);
    this.options.onHostChange(host, disk);
  }

  private watchHost(host: string): void {
    let w = this.watches.get(host);
    if (!w) {
      w = new DirWatch(path.join(this.root, host), (name) => this.onHostEvent(host, name));
      this.watches.set(host, w);
    }
    w.ensure();
  }

  /** A notification: O(1), queued for the next step. */
  private onHostEvent(host: string, name: string | null): void {
    if (this.stopped) return;
    this.scheduleReconcile(host);
    if (name === null) {
      this.queueRelist(host, true);
      return;
    }
    if (!isEpisodeFile(name)) return;
    let names = this.pending.get(host);
    if (!names) {
      names = new Set();
      this.pending.set(host, names);
    }
    names.add(name);
    this.queueDrain();
  }

  private queueRelist(host: string, full: boolean): void {
    this.relist.set(host, full || this.relist.get(host) === true);
    this.queueDrain();
  }

  /**
   * Notifications can be lost: the kernel's queue (16,384 events by default) overflows when a
   * burst outruns the process, and Node says nothing. So a host with notifications gets a quick
   * relisting RECONCILE_MS after the first of them (not pushed back by the next ones), and again
   * while its folder keeps changing: a burst is settled exactly once it stops, at the cost of one
   * `readdir` every couple of seconds while it lasts, and an `lstat` of each name no event brought.
   */
  private scheduleReconcile(host: string): void {
    if (this.reconcileTimers.has(host) || this.stopped) return;
    const timer = setTimeout(() => {
      this.reconcileTimers.delete(host);
      this.queueRelist(host, false);
    }, RECONCILE_MS);
    timer.unref();
    this.reconcileTimers.set(host, timer);
  }

  private queueDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    void this.exclusive(() => this.drain()).catch((err: unknown) => {
      this.errors++;
      this.options.logger.warn({ err }, 'episodes folder update failed; the next scan settles it');
    });
  }

  /** Applies queued notifications, a step at a time, until none is left. */
  private async drain(): Promise<void> {
    while (!this.stopped) {
      const relist = this.relist.entries().next().value;
      if (relist !== undefined) {
        this.relist.delete(relist[0]);
        await this.relistHost(...relist);
        continue;
      }
      const next = this.pending.entries().next().value;
      if (next === undefined) break;
      const [pendingHost, names] = next;
      const batch: string[] = [];
      for (const name of names) {
        batch.push(name);
        names.delete(name);
        if (batch.length >= NAMES_PER_STEP) break;
      }
      if (names.size === 0) this.pending.delete(pendingHost);
      await this.applyNames(pendingHost, batch);
    }
    this.drainQueued = false;
  }

  /** `lstat`s notified names of one host and applies them to its listing and running bytes. */
  private async applyNames(host: string, names: string[]): Promise<void> {
    const dir = path.join(this.root, host);
    const stats = await mapLimit(names, STATS_IN_FLIGHT, (name) => statEpisode(path.join(dir, name)));
    const listing = this.listings.get(host);
    if (!listing) {
      // Not listed yet (its folder appeared, or could not be read): list it whole.
      await this.relistHost(host, true);
      return;
    }
    let bytes = this.bytes.get(host) ?? 0;
    let added = 0;
    names.forEach((name, i) => {
      const st = stats[i];
      const old = listing.files.get(name);
      if (st) {
        if (old && old.size === st.size && old.mtimeMs === st.mtimeMs) return;
        listing.files.set(name, episodeFile(host, name, st));
        bytes += st.size - (old?.size ?? 0);
        added++;
      } else if (old) {
        listing.files.delete(name);
        bytes -= old.size;
      }
    });
    this.bytes.set(host, bytes);
    this.publish(host);
    if (added > 0) this.options.onNewFiles?.(added);
  }

  /**
   * Lists one host folder again: `full`, every file `lstat`ed (after a watch error, for a late
   * folder); else only names it does not hold yet, and nothing when the folder has not changed.
   */
  private async relistHost(host: string, full: boolean): Promise<void> {
    this.watchHost(host);
    const previous = this.listings.get(host);
    const listing = await listHost(this.root, host, full ? undefined : previous, full);
    if (listing === null) {
      this.errors++;
      this.dropHost(host);
      return;
    }
    // Still changing: look once more when it may have settled.
    if (!isSettled(listing)) this.scheduleReconcile(host);
    if (listing === previous) return;
    this.listings.set(host, listing);
    const changes = { relisted: new Map([[host, previous]]), removed: new Map(), readable: true };
    const added = (await diffListings(changes, this.listings)).entered.length;
    await this.resum(host);
    if (added > 0) this.options.onNewFiles?.(added);
  }

  private dropHost(host: string): void {
    this.watches.get(host)?.close();
    this.watches.delete(host);
    this.pending.delete(host);
    this.relist.delete(host);
    const timer = this.reconcileTimers.get(host);
    if (timer) clearTimeout(timer);
    this.reconcileTimers.delete(host);
    this.listings.delete(host);
    this.bytes.delete(host);
    if (this.published.delete(host)) this.options.onHostChange(host, { files: 0, bytes: 0 });
  }
}
