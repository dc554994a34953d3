import path from 'node:path';
import { CoalescedScan } from './coalesced-scan.js';
import { DirWatch } from './dir-watch.js';

export interface WatchedFolderOptions {
  dataRoot: string;
  /** The folder's name under the data root (`episodes`, `health`). */
  name: string;
  rescanIntervalMs: number;
  /** One full scan of the folder. */
  scan(): Promise<void>;
}

/**
 * A folder of the data root kept current by a full scan at start and on a timer, a watch on the
 * folder, and a watch on the data root for the folder appearing later (it is optional and may
 * be created after the dashboard starts). Scans are coalesced (see CoalescedScan).
 */
export class WatchedFolder {
  readonly dir: string;
  private readonly watch: DirWatch;
  private readonly parentWatch: DirWatch;
  private readonly scanner: CoalescedScan;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: WatchedFolderOptions) {
    this.dir = path.join(options.dataRoot, options.name);
    this.scanner = new CoalescedScan(
      () => options.scan(),
      () => this.stopped,
    );
    this.watch = new DirWatch(this.dir, () => void this.request());
    this.parentWatch = new DirWatch(options.dataRoot, (name) => {
      if (name === null || name === options.name) void this.request();
    });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** The first full scan; then a rescan every interval. */
  async start(): Promise<void> {
    await this.request();
    this.timer = setInterval(() => void this.request(), this.options.rescanIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watch.close();
    this.parentWatch.close();
  }

  /** A full scan; calls during one share it, and a change seen mid-scan runs one more. */
  request(): Promise<void> {
    return this.scanner.request();
  }

  /** (Re)arms both watches; scans call it, since the folder may have appeared or been replaced. */
  ensureWatches(): void {
    this.watch.ensure();
    this.parentWatch.ensure();
  }
}
