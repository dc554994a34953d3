import fs from 'node:fs/promises';
import path from 'node:path';
import { dict, type HostDisk } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { mapLimit } from '../util/map-limit.js';
import { createYielder } from '../util/yielder.js';
import { DirWatch } from './dir-watch.js';
import {
  diffListings,
  type EpisodeFile,
  episodeFile,
  type HostListing,
  isEpisodeFile,
  isSettled,
  listEpisodeNames,
  listHost,
  listHostFolders,
  scanHosts,
  statEpisode,
} from './episode-files.js';
import { type EpisodeFileSource, FileJournal } from './file-journal.js';
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
/**
 * ... or, for a large folder, this many times as long as its last listing took (at most
 * RECONCILE_MAX_MS): the reconciles of a folder of 200,000 names take a bounded share of the time
 * a burst lasts, not a listing of the whole folder every two seconds (which made a burst cost its
 * length times the folder), and the counts still settle within seconds once it stops.
 */
const RECONCILE_COST_FACTOR = 5;
const RECONCILE_MAX_MS = 10_000;

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
export class EpisodesDirFeeder implements EpisodeFileSource {
  private readonly root: string;
  private hostListings = new Map<string, HostListing>();
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
  /** Per host, how long after the first notification its reconcile runs (see RECONCILE_COST_FACTOR). */
  private readonly reconcileDelays = new Map<string, number>();
  /** Journals of other walkers following these files (`journal()`). */
  private readonly journals: FileJournal[] = [];
  /** Scans and notification steps run one after the other on this chain. */
  private chain: Promise<void> = Promise.resolve();
  private drainQueued = false;
  private readonly folder: WatchedFolder;
  private missingReported = false;
  private stopped = false;
  private scans = 0;
  private errors = 0;
  /** Host folders told unlistable (`noteUnlisted`), until listed again. */
  private readonly unlistedReported = new Set<string>();

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

  /** The current listing (host → its files), for a walker that follows this one (see FileJournal). */
  listings(): ReadonlyMap<string, HostListing> {
    return this.hostListings;
  }

  /** A journal of every change to `listings()` from now on. */
  journal(): FileJournal {
    const journal = new FileJournal();
    this.journals.push(journal);
    return journal;
  }

  /** Files and bytes per host as last seen. */
  disk(): Record<string, HostDisk> {
    const out = dict<HostDisk>();
    for (const host of this.hostListings.keys()) out[host] = this.hostDisk(host);
    return out;
  }

  stats(): { scans: number; errors: number; hosts: number; files: number; pending: number } {
    let files = 0;
    for (const l of this.hostListings.values()) files += l.files.size;
    let pending = 0;
    for (const names of this.pending.values()) pending += names.size;
    return { scans: this.scans, errors: this.errors, hosts: this.hostListings.size, files, pending };
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
    return { files: this.hostListings.get(host)?.files.size ?? 0, bytes: this.bytes.get(host) ?? 0 };
  }

  /**
   * Host folders a full scan could not list (a permission, most often): said once each and counted
   * in `errors`, until listed again — otherwise the host's episodes left the counts in silence.
   */
  private noteUnlisted(hosts: readonly string[]): void {
    const now = new Set(hosts);
    for (const host of now) {
      if (this.unlistedReported.has(host)) continue;
      this.unlistedReported.add(host);
      this.errors++;
      this.options.logger.warn(
        { dir: path.join(this.root, host), host },
        'host folder could not be listed; its episode files are not counted until it can',
      );
    }
    for (const host of this.unlistedReported) {
      if (now.has(host)) continue;
      this.unlistedReported.delete(host);
      this.options.logger.info({ dir: path.join(this.root, host), host }, 'host folder listed again');
    }
  }

  private async scanAll(): Promise<void> {
    if (this.stopped) return;
    this.scans++;
    // Armed first: if the folder is missing, the data-root watch notices it appearing; and each
    // host's watch before its listing, so a file landing between the two is seen by one or the other.
    this.folder.ensureWatches();
    for (const host of (await listHostFolders(this.root)) ?? []) this.watchHost(host);
    // On a copy, swapped in when complete: counts read meanwhile never mix old files and new bytes.
    const listings = new Map(this.hostListings);
    const changes = await scanHosts(this.options.dataRoot, listings, true);
    const diff = await diffListings(changes, listings);
    // Swapped in and told to the journals in one turn: a follower never sees one without the other.
    this.hostListings = listings;
    const added = this.recordDiff(diff);
    if (!changes.readable && !this.missingReported) {
      this.missingReported = true;
      this.options.logger.warn({ dir: this.root }, 'episodes folder not readable yet');
    } else if (changes.readable && this.missingReported) {
      this.missingReported = false;
      this.options.logger.info({ dir: this.root }, 'episodes folder appeared');
    }
    this.noteUnlisted(changes.unlisted);
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

  /** Tells the journals what a diff of listings says; returns how many files entered. */
  private recordDiff({ left, entered }: { left: EpisodeFile[]; entered: EpisodeFile[] }): number {
    for (const journal of this.journals) {
      for (const f of left) journal.record(f, undefined);
      for (const f of entered) journal.record(undefined, f);
    }
    return entered.length;
  }

  /** Recomputes a host's bytes from its listing (after a scan relisted it) and publishes a change. */
  private async resum(host: string): Promise<void> {
    const listing = this.hostListings.get(host);
    let bytes = 0;
    const yielder = createYielder();
    for (const f of listing?.files.values() ?? []) {
      bytes += f.size;
      if (yielder.due()) await yielder.pause();
    }
    // Relisted or dropped meanwhile (a step never overlaps, but stay exact): sum what is there now.
    if (this.hostListings.get(host) !== listing) return;
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
    }, this.reconcileDelays.get(host) ?? RECONCILE_MS);
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
    const listing = this.hostListings.get(host);
    if (!listing) {
      // Not listed yet (its folder appeared, or could not be read): list it whole.
      await this.relistHost(host, true);
      return;
    }
    this.applyStats(host, listing, names, stats);
  }

  /**
   * Applies what `lstat` said of `names` (null: gone or not a file) to a host's listing, running
   * bytes and the journals, and publishes the change: the cost of the names, not of the folder.
   */
  private applyStats(
    host: string,
    listing: HostListing,
    names: readonly string[],
    stats: ReadonlyArray<{ size: number; mtimeMs: number } | null>,
  ): void {
    let bytes = this.bytes.get(host) ?? 0;
    let added = 0;
    names.forEach((name, i) => {
      const st = stats[i];
      const old = listing.files.get(name);
      if (st) {
        if (old && old.size === st.size && old.mtimeMs === st.mtimeMs) return;
        const file = episodeFile(host, name, st);
        listing.files.set(name, file);
        for (const journal of this.journals) journal.record(old, file);
        bytes += st.size - (old?.size ?? 0);
        added++;
      } else if (old) {
        listing.files.delete(name);
        for (const journal of this.journals) journal.record(old, undefined);
        bytes -= old.size;
      }
    });
    this.bytes.set(host, bytes);
    this.publish(host);
    if (added > 0) this.options.onNewFiles?.(added);
  }

  /**
   * Lists one host folder again: `full`, every file `lstat`ed (after a watch error, for a late
   * folder); else (a reconcile) in place, only names it does not hold yet `lstat`ed, and nothing
   * when the folder has not changed.
   */
  private async relistHost(host: string, full: boolean): Promise<void> {
    this.watchHost(host);
    const previous = this.hostListings.get(host);
    if (!full && previous) {
      await this.reconcileHost(host, previous);
      return;
    }
    const listing = await listHost(this.root, host, undefined, full);
    if (listing === null) {
      this.errors++;
      this.dropHost(host);
      return;
    }
    // Still changing: look once more when it may have settled.
    if (!isSettled(listing)) this.scheduleReconcile(host);
    const changes = {
      relisted: new Map([[host, previous]]),
      removed: new Map(),
      readable: true,
      unlisted: [],
    };
    const diff = await diffListings(changes, new Map([[host, listing]]));
    if (this.hostListings.get(host) !== previous) return; // Dropped meanwhile.
    this.hostListings.set(host, listing);
    const added = this.recordDiff(diff);
    await this.resum(host);
    if (added > 0) this.options.onNewFiles?.(added);
  }

  /**
   * A reconcile: the names of a host folder against its listing, which is updated in place. A name
   * known or already queued by a notification costs a lookup (no copy of the listing, no second
   * `lstat`); only names no notification brought are `lstat`ed, and the listing is walked for
   * files gone only when fewer names than it holds were found. Nothing when the folder has not
   * changed since a settled listing.
   */
  private async reconcileHost(host: string, listing: HostListing): Promise<void> {
    const hostDir = path.join(this.root, host);
    const dir = await fs.lstat(hostDir).catch(() => null);
    if (dir?.isDirectory() && listing.dirMtimeMs === dir.mtimeMs && isSettled(listing)) return;
    const started = performance.now();
    const listedAtMs = Date.now();
    const yielder = createYielder();
    const names = dir?.isDirectory() ? await listEpisodeNames(hostDir, yielder) : null;
    if (!dir || names === null) {
      this.errors++;
      this.dropHost(host);
      return;
    }
    const queued = this.pending.get(host);
    let known = 0;
    const fresh: string[] = [];
    for (const name of names) {
      if (listing.files.has(name)) known++;
      else if (!queued?.has(name)) fresh.push(name);
      if (yielder.due()) await yielder.pause();
    }
    const gone: string[] = [];
    if (known < listing.files.size) {
      const listed = new Set(names);
      for (const name of listing.files.keys()) {
        if (!listed.has(name)) gone.push(name);
        if (yielder.due()) await yielder.pause();
      }
    }
    const stats = await mapLimit(fresh, STATS_IN_FLIGHT, (name) => statEpisode(path.join(hostDir, name)));
    if (this.hostListings.get(host) !== listing) return; // Dropped or relisted meanwhile.
    listing.dirMtimeMs = dir.mtimeMs;
    listing.listedAtMs = listedAtMs;
    const changed = [...fresh, ...gone];
    const found = [...stats, ...gone.map(() => null)];
    for (let i = 0; i < changed.length; i += NAMES_PER_STEP) {
      if (i > 0) await yielder.pause();
      if (this.hostListings.get(host) !== listing) return;
      this.applyStats(
        host,
        listing,
        changed.slice(i, i + NAMES_PER_STEP),
        found.slice(i, i + NAMES_PER_STEP),
      );
    }
    const delay = RECONCILE_COST_FACTOR * (performance.now() - started);
    this.reconcileDelays.set(host, Math.min(RECONCILE_MAX_MS, Math.max(RECONCILE_MS, delay)));
    // Still changing: look once more when it may have settled.
    if (!isSettled(listing)) this.scheduleReconcile(host);
  }

  private dropHost(host: string): void {
    this.watches.get(host)?.close();
    this.watches.delete(host);
    this.pending.delete(host);
    this.relist.delete(host);
    const timer = this.reconcileTimers.get(host);
    if (timer) clearTimeout(timer);
    this.reconcileTimers.delete(host);
    this.reconcileDelays.delete(host);
    const listing = this.hostListings.get(host);
    if (listing && this.journals.length > 0) {
      for (const f of listing.files.values())
        for (const journal of this.journals) journal.record(f, undefined);
    }
    this.hostListings.delete(host);
    this.bytes.delete(host);
    if (this.published.delete(host)) this.options.onHostChange(host, { files: 0, bytes: 0 });
  }
}
