import { createHash } from 'node:crypto';
import path from 'node:path';
import { formatLine } from '../generate/line-style.js';
import type { AlertLine, HealthFile, IndexLine } from '../generate/records.js';
import type { ReceiverFs } from './receiver-fs.js';

/**
 * Writes a data root the way the lab's receiver and monitor do: a tarball lands under a temporary
 * name, is renamed into place, and only then gets its index line (true sha256 and size); alerts
 * are appended; heartbeats are replaced atomically; the logs are rotated now and then, by rename
 * or by copytruncate, keeping a few rotated files. Every operation runs in one queue, so an
 * append never races a rotation — as with a single receiver process.
 */

export type LogName = 'index' | 'alerts';
export type RotationHow = 'rename' | 'copytruncate';

/** Dedup keys counted in `stats()`; a demo left running must not grow without bound. */
const MAX_TRACKED_KEYS = 1000;

const LOG_FILES: Record<LogName, string> = { index: 'index.jsonl', alerts: 'alerts.jsonl' };

export interface ReceiverOptions {
  /** Rotated files kept per log (`index.jsonl.<n>`); older ones are deleted. @default 3 */
  keepRotated?: number;
  /** Tarballs this receiver landed that are kept on disk; the oldest go first. @default 2000 */
  maxEpisodesOnDisk?: number;
}

export interface ReceiverStats {
  /** Index lines written (one per landed episode). */
  indexLines: number;
  /** Sum of `size_bytes` over those lines. */
  indexBytes: number;
  alertLines: number;
  /** Alert lines per dedup key (the most recent 1000 keys). */
  dedupKeys: Record<string, number>;
  healthWrites: number;
  rotations: Record<LogName, Record<RotationHow, number>>;
  /** Rotated log files deleted to keep only the newest few. */
  prunedRotated: number;
  /** Landed tarballs deleted by retention. */
  deletedEpisodes: number;
}

export interface HostDiskCount {
  files: number;
  bytes: number;
}

interface Landed {
  file: string;
  hostId: string;
  bytes: number;
}

export class Receiver {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly keepRotated: number;
  private readonly maxOnDisk: number;
  private readonly landed: Landed[] = [];
  private readonly onDisk = new Map<string, HostDiskCount>();
  private readonly madeDirs = new Set<string>();
  private nextRotated: Partial<Record<LogName, number>> = {};
  private readonly counts: ReceiverStats = {
    indexLines: 0,
    indexBytes: 0,
    alertLines: 0,
    dedupKeys: {},
    healthWrites: 0,
    rotations: { index: { rename: 0, copytruncate: 0 }, alerts: { rename: 0, copytruncate: 0 } },
    prunedRotated: 0,
    deletedEpisodes: 0,
  };

  constructor(
    readonly root: string,
    private readonly fs: ReceiverFs,
    options: ReceiverOptions = {},
  ) {
    this.keepRotated = options.keepRotated ?? 3;
    this.maxOnDisk = options.maxEpisodesOnDisk ?? 2000;
  }

  /** Runs `op` after every operation queued before it; a failure does not block later ones. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every operation queued so far has finished. */
  async idle(): Promise<void> {
    await this.serial(async () => undefined);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await this.fs.mkdir(dir);
    this.madeDirs.add(dir);
  }

  /** Lands a tarball (temp name, rename) and then appends its index line. */
  landEpisode(
    hostId: string,
    episodeId: string,
    tarball: Uint8Array,
    receivedAtWall: string | number,
  ): Promise<IndexLine> {
    return this.serial(async () => {
      const rel = `episodes/${hostId}/${episodeId}.tar.zst`;
      const file = path.join(this.root, rel);
      await this.ensureDir(path.dirname(file));
      await this.fs.writeFile(`${file}.tmp`, tarball);
      await this.fs.rename(`${file}.tmp`, file);
      const line: IndexLine = {
        episode_id: episodeId,
        host_id: hostId,
        sha256: createHash('sha256').update(tarball).digest('hex'),
        size_bytes: tarball.length,
        received_at_wall: receivedAtWall,
        path: rel,
      };
      await this.fs.appendFile(path.join(this.root, LOG_FILES.index), formatLine('python', line));
      this.counts.indexLines += 1;
      this.counts.indexBytes += line.size_bytes;
      this.track({ file, hostId, bytes: tarball.length }, 1);
      this.landed.push({ file, hostId, bytes: tarball.length });
      while (this.landed.length > this.maxOnDisk) {
        const oldest = this.landed.shift() as Landed;
        await this.fs.unlink(oldest.file);
        this.track(oldest, -1);
        this.counts.deletedEpisodes += 1;
      }
      return line;
    });
  }

  private track(e: Landed, sign: 1 | -1): void {
    const d = this.onDisk.get(e.hostId) ?? { files: 0, bytes: 0 };
    d.files += sign;
    d.bytes += sign * e.bytes;
    this.onDisk.set(e.hostId, d);
  }

  appendAlert(alert: AlertLine): Promise<void> {
    return this.serial(async () => {
      await this.fs.appendFile(path.join(this.root, LOG_FILES.alerts), formatLine('python', alert));
      this.counts.alertLines += 1;
      this.countKey(alert.dedup_key);
    });
  }

  /** Counts per dedup key, for the most recent MAX_TRACKED_KEYS keys (corrupt-episode keys never repeat). */
  private countKey(key: string): void {
    const keys = this.counts.dedupKeys;
    if (keys[key] === undefined && Object.keys(keys).length >= MAX_TRACKED_KEYS) {
      const oldest = Object.keys(keys)[0];
      if (oldest !== undefined) delete keys[oldest];
    }
    keys[key] = (keys[key] ?? 0) + 1;
  }

  /** Replaces `health/<host>.json` atomically (a reader never sees half a file). */
  writeHealth(health: HealthFile): Promise<void> {
    return this.serial(async () => {
      const dir = path.join(this.root, 'health');
      await this.ensureDir(dir);
      const file = path.join(dir, `${health.host_id}.json`);
      await this.fs.writeFile(`${file}.tmp`, `${JSON.stringify(health, null, 2)}\n`);
      await this.fs.rename(`${file}.tmp`, file);
      this.counts.healthWrites += 1;
    });
  }

  /**
   * Rotates a log to `<name>.<n>` by rename (and creates an empty new one) or by
   * copytruncate (copy, then truncate in place). An absent or empty log is left alone (false).
   */
  rotate(log: LogName, how: RotationHow): Promise<boolean> {
    return this.serial(async () => {
      const file = path.join(this.root, LOG_FILES[log]);
      const size = await this.fs.size(file);
      if (size === null || size === 0) return false;
      const n = await this.takeRotatedNumber(log);
      const target = `${file}.${n}`;
      if (how === 'rename') {
        await this.fs.rename(file, target);
        // logrotate's `create`: the new log exists at once, so readers never see it missing.
        await this.fs.writeFile(file, '');
      } else {
        await this.fs.copyFile(file, target);
        await this.fs.truncate(file);
      }
      this.counts.rotations[log][how] += 1;
      await this.pruneRotated(log);
      return true;
    });
  }

  /** Rotated files of `log` as [number, name], oldest first. */
  private async rotatedFiles(log: LogName): Promise<Array<[number, string]>> {
    const prefix = `${LOG_FILES[log]}.`;
    const out: Array<[number, string]> = [];
    for (const name of await this.fs.readdir(this.root)) {
      if (!name.startsWith(prefix)) continue;
      const n = Number(name.slice(prefix.length));
      if (Number.isInteger(n) && n > 0) out.push([n, name]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  private async takeRotatedNumber(log: LogName): Promise<number> {
    // Continue after whatever an earlier run left, so a rotated file is never overwritten.
    const next = this.nextRotated[log] ?? ((await this.rotatedFiles(log)).at(-1)?.[0] ?? 0) + 1;
    this.nextRotated[log] = next + 1;
    return next;
  }

  private async pruneRotated(log: LogName): Promise<void> {
    const files = await this.rotatedFiles(log);
    for (const [, name] of files.slice(0, Math.max(0, files.length - this.keepRotated))) {
      await this.fs.unlink(path.join(this.root, name));
      this.counts.prunedRotated += 1;
    }
  }

  stats(): ReceiverStats {
    return {
      ...this.counts,
      dedupKeys: { ...this.counts.dedupKeys },
      rotations: {
        index: { ...this.counts.rotations.index },
        alerts: { ...this.counts.rotations.alerts },
      },
    };
  }

  /** Tarballs this receiver landed that are still on disk, per host. */
  disk(): Record<string, HostDiskCount> {
    const out: Record<string, HostDiskCount> = {};
    for (const [host, d] of this.onDisk) out[host] = { ...d };
    return out;
  }
}
