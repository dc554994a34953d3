import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostHealth } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { mapLimit } from '../util/map-limit.js';
import { WatchedFolder } from './watched-folder.js';

/** Health files larger than this are not read (a heartbeat is a few hundred bytes). */
const MAX_HEALTH_BYTES = 256 * 1024;

export interface HealthDirOptions {
  dataRoot: string;
  logger: Logger;
  rescanIntervalMs: number;
  onHealth(host: string, health: HostHealth | null): void;
}

/**
 * Reads `health/<host_id>.json` (optional; the folder may appear later). A file is re-read only
 * when its mtime or size changed; a bad file is skipped, counted and logged once per version. One
 * that is not JSON (half written) leaves the host's last good health as it was; one that is not a
 * file or not an object, or a file that is gone, clears it.
 */
export class HealthDirFeeder {
  private readonly dir: string;
  private readonly seen = new Map<string, { key: string; ok: boolean }>();
  private readonly folder: WatchedFolder;
  private skipped = 0;

  constructor(private readonly options: HealthDirOptions) {
    this.folder = new WatchedFolder({
      dataRoot: options.dataRoot,
      name: 'health',
      rescanIntervalMs: options.rescanIntervalMs,
      scan: () => this.scanAll(),
    });
    this.dir = this.folder.dir;
  }

  start(): Promise<void> {
    return this.folder.start();
  }

  stop(): void {
    this.folder.stop();
  }

  stats(): { hosts: number; skipped: number } {
    return { hosts: [...this.seen.values()].filter((s) => s.ok).length, skipped: this.skipped };
  }

  /** A full rescan; calls during one share it, and a change seen mid-scan runs one more. */
  scan(): Promise<void> {
    return this.folder.request();
  }

  private async scanAll(): Promise<void> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    } catch {
      names = [];
    }
    this.folder.ensureWatches();
    const hosts = names.map((name) => name.slice(0, -'.json'.length));
    const present = new Set(hosts);
    // Many hosts at a time: each is a stat and a read, round trips to the thread pool, and during
    // the first pass the main thread takes I/O only between index ranges.
    await mapLimit(hosts, 64, (host) => this.readOne(host, path.join(this.dir, `${host}.json`)));
    for (const [host, s] of [...this.seen]) {
      if (present.has(host)) continue;
      this.seen.delete(host);
      if (s.ok) this.options.onHealth(host, null);
    }
  }

  private async readOne(host: string, file: string): Promise<void> {
    let st: import('node:fs').Stats;
    try {
      st = await fs.stat(file);
    } catch {
      return;
    }
    const key = `${st.mtimeMs}:${st.size}`;
    const prev = this.seen.get(host);
    if (prev?.key === key) return;
    const fail = (reason: string, keepLast = false) => {
      this.skipped++;
      this.options.logger.warn({ file, reason }, 'skipped a health file');
      if (keepLast) {
        // The host's last good heartbeat stands (its age keeps growing by the status rules).
        this.seen.set(host, { key, ok: prev?.ok ?? false });
        return;
      }
      this.seen.set(host, { key, ok: false });
      if (prev?.ok) this.options.onHealth(host, null);
    };
    if (!st.isFile() || st.size > MAX_HEALTH_BYTES) return fail(st.isFile() ? 'too_large' : 'not_a_file');
    let data: unknown;
    try {
      data = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch {
      // A heartbeat written in place (not by rename) reads as bad JSON while it is half written:
      // dropping the last good one for it called the host critical and reopened its resolved
      // alerts for a moment. The next write (new mtime) is read again.
      return fail('malformed_json', true);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('not_object');
    this.seen.set(host, { key, ok: true });
    this.options.onHealth(host, {
      host_id: host,
      read_at: new Date().toISOString(),
      file_mtime: st.mtime.toISOString(),
      data: data as Record<string, unknown>,
    });
  }
}
