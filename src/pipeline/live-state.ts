import type { Bus } from '../bus/bus.js';
import {
  dict,
  type HostDisk,
  type HostHealth,
  type IntegrityCounts,
  type Snapshot,
} from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import type { LiveProjection } from './live-projection.js';

/** How often, at most, a bulk load (backlog of the index) publishes its progress as a snapshot. */
const BULK_SNAPSHOT_MS = 500;
/** Integrity counts come from the catalog; bulk snapshots are frequent, so they are reused this long. */
const INTEGRITY_TTL_MS = 10_000;

export interface LiveStateOptions {
  bus: Bus;
  live: LiveProjection;
  /** Episode files per host on disk (the episodes-dir watcher). */
  disk(): Record<string, HostDisk>;
  /** Integrity counts from the catalog; null when unknown. */
  integrity(): IntegrityCounts;
  /** A catalog error met while counting; true when it was reported as a fault (not logged here). */
  reportError(err: unknown): boolean;
  logger: Logger;
  /** Seconds between periodic snapshots. */
  snapshotInterval: number;
}

/**
 * The snapshot side of the live state: builds snapshots from the running projections (never a
 * re-read), publishes them on a timer (unless unchanged), after a backlog's batches (throttled)
 * and at ready; keeps the per-host health and the readiness flag.
 */
export class LiveState {
  readonly startedAt = Date.now();
  private readonly healthByHost = dict<HostHealth>();
  private readyFlag = false;
  private readySeconds: number | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private bulkTimer: NodeJS.Timeout | null = null;
  private lastSnapshotJson: string | null = null;
  private integrityCache: { at: number; counts: IntegrityCounts } | null = null;
  private stopped = false;

  constructor(private readonly o: LiveStateOptions) {}

  get ready(): boolean {
    return this.readyFlag;
  }

  /** Seconds from start to ready, once ready. */
  get bootstrapSeconds(): number | null {
    return this.readySeconds;
  }

  start(): void {
    this.snapshotTimer = setInterval(() => this.periodicSnapshot(), this.o.snapshotInterval * 1000);
    this.snapshotTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.bulkTimer) clearTimeout(this.bulkTimer);
  }

  /** Resolves when ready. */
  whenReady(): Promise<void> {
    if (this.readyFlag) return Promise.resolve();
    return new Promise((resolve) => {
      const unsubscribe = this.o.bus.subscribe((e) => {
        if (e.type === 'ready' && e.ready) {
          unsubscribe();
          resolve();
        }
      });
    });
  }

  setHealth(host: string, health: HostHealth | null): void {
    if (health) this.healthByHost[host] = health;
    else delete this.healthByHost[host];
    this.o.bus.publish({ type: 'health', host_id: host, health });
  }

  /** The snapshot part of the state, from the running aggregates. */
  snapshot(): Snapshot {
    const host_counts = dict<number>();
    const host_bytes = dict<number>();
    for (const [host, d] of Object.entries(this.o.disk())) {
      if (d.files === 0 && d.bytes === 0) continue;
      host_counts[host] = d.files;
      host_bytes[host] = d.bytes;
    }
    return {
      ...this.o.live.index.snapshotFields(),
      ...this.o.live.alerts.snapshotFields(),
      host_counts,
      host_bytes,
      health: dict(this.healthByHost),
      ready: this.readyFlag,
      integrity: this.integrity(),
    };
  }

  publishSnapshot(): void {
    if (this.stopped) return;
    const snapshot = this.snapshot();
    this.lastSnapshotJson = JSON.stringify(snapshot);
    this.o.bus.publish({ type: 'snapshot', ...snapshot });
  }

  /**
   * The timer's snapshot: published unless it would say exactly what the last one said. A quiet
   * lab would otherwise fill the replay ring (up to its 64 MiB) with identical 70 KB snapshots
   * over a few hours — memory held for nothing, since every client already has that state.
   */
  periodicSnapshot(): void {
    if (this.stopped) return;
    if (JSON.stringify(this.snapshot()) === this.lastSnapshotJson) return;
    this.publishSnapshot();
  }

  /** A backlog is published as snapshots (at most every 500 ms), not one event per line. */
  scheduleBulkSnapshot(): void {
    if (this.bulkTimer || this.stopped) return;
    this.bulkTimer = setTimeout(() => {
      this.bulkTimer = null;
      this.publishSnapshot();
    }, BULK_SNAPSHOT_MS);
  }

  /** The first pass is done: publish the state and say so. */
  markReady(): void {
    if (this.readyFlag || this.stopped) return;
    this.readyFlag = true;
    this.readySeconds = (Date.now() - this.startedAt) / 1000;
    if (this.bulkTimer) {
      clearTimeout(this.bulkTimer);
      this.bulkTimer = null;
    }
    this.publishSnapshot();
    this.o.bus.publish({ type: 'ready', ready: true });
    this.o.logger.info(
      {
        bootstrap_seconds: this.readySeconds,
        total_episodes: this.o.live.index.total_episodes,
        total_alerts: this.o.live.alerts.total_alerts,
      },
      'ready',
    );
  }

  private integrity(): IntegrityCounts | null {
    const now = Date.now();
    if (this.integrityCache && now - this.integrityCache.at < INTEGRITY_TTL_MS)
      return this.integrityCache.counts;
    try {
      this.integrityCache = { at: now, counts: this.o.integrity() };
    } catch (err) {
      if (!this.o.reportError(err)) this.o.logger.warn({ err }, 'cannot count integrity statuses');
    }
    return this.integrityCache?.counts ?? null;
  }
}
