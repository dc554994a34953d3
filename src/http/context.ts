import type { LiveFeed } from '../bus/bus.js';
import type { WsHub } from '../bus/ws-hub.js';
import type { Db } from '../catalog/db.js';
import type { ExplorerReads } from '../catalog/explorer-protocol.js';
import type { CatalogFault } from '../catalog/persister.js';
import type { PhaseMixStats } from '../phasemix/service.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { DashboardEvent, PhaseMix, UnsequencedEvent } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import type { Metrics } from './metrics.js';

/** Source of the dataset phase mix (the phase-mix service, or nothing before it runs). */
export interface PhaseMixSource {
  current(host?: string): PhaseMix | null;
  stats(): PhaseMixStats;
}

/** The live state as routes read it, and where POST /api/phase appends its event. */
export interface LiveEvents extends LiveFeed {
  /**
   * Appends an event; a replica (`serve --redis`) appends to the shared stream and resolves once
   * Redis acknowledged it (the event comes back through the stream like every other).
   */
  publish(event: UnsequencedEvent): DashboardEvent | Promise<{ seq: number }>;
  /**
   * A replica's append with a request id (`Idempotency-Key`): appended once per `key` within
   * `ttlMs`, however many replicas it is sent to. Absent on one box (the route remembers ids).
   */
  publishOnce?(
    event: UnsequencedEvent,
    once: { key: string; ttlMs: number },
  ): Promise<{ seq: number; duplicate: boolean }>;
}

/** Whether the first pass is done (GET /readyz) and since when the server runs. */
export interface Readiness {
  readonly ready: boolean;
  readonly bootstrapSeconds: number | null;
  /** Epoch ms of the start. */
  readonly startedAt: number;
  /**
   * A replica's catalog, when it lacks older rows (still fetched from the agents, or lost): /readyz
   * adds it as `catalog` (the replica stays ready: its live view is whole). Absent on one box.
   */
  catalogGaps?(): { complete: false; pending: unknown[] } | null;
  /**
   * With `--redis`: why the shared log cannot be read now (Redis away), since when; `/readyz` adds
   * it as `stream` (the replica stays ready: it serves its last state meanwhile). Absent on one box.
   */
  streamError?(): { message: string; since: string } | null;
  /** What "not ready yet" means here (a replica has no data root: it catches up with the stream). */
  startingReason?: { code: string; message: string };
}

/** Whether the catalog can be written and read (full disk, read-only, corrupt). */
export interface CatalogHealth {
  /** Why the catalog cannot be written right now, or null. */
  readonly fault: CatalogFault | null;
  /**
   * Takes note of a catalog error met by a reader; true when it is corruption (sticky: from then
   * on /readyz and the explorer say so, and the next start rebuilds the catalog).
   */
  reportError(err: unknown): boolean;
}

/** What the HTTP routes read from: narrow interfaces, built by the composition root, fakeable in tests. */
export interface AppContext {
  events: LiveEvents;
  readiness: Readiness;
  /** The catalog (alert queries and episode lookups read it; only the writer thread writes it). */
  catalog: Db;
  /**
   * The explorer's pages, totals and facets: the server's read them on the explorer thread, off
   * the event loop. Absent: read inline on `catalog` (a replica serves its own explorer routes).
   */
  explorer?: ExplorerReads;
  /**
   * Resolves once the catalog holds every line the live state has shown (live lines are committed
   * up to 0.5 s after they are read): explorer and alerts queries wait for it (at most
   * CATALOG_SETTLE_MS). Absent where the catalog is written as the events arrive (a replica).
   */
  catalogSettled?(): Promise<void>;
  catalogHealth: CatalogHealth;
  /** Counters for /metrics. */
  stats(): PipelineStats;
  /** The WebSocket hub: /ws hands it each accepted socket; /metrics reads its stats. */
  hub: Pick<WsHub, 'stats' | 'accept'>;
  logger: Logger;
  dataRoot: string;
  /** Bearer token for POST /api/phase; null disables the endpoint (503). */
  phaseToken: string | null;
  phaseMix: PhaseMixSource | null;
  /** The Prometheus registry `/metrics` serves; routes and services feed its histograms. */
  metrics: Metrics;
}
