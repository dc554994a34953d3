import type { EpisodeQueries } from './episodes-query.js';

/**
 * The explorer reads that may take long (a page, its total, facets): run on the explorer thread
 * (`explorer-service.ts`), so the event loop that pushes live events never waits for them.
 */
export const EXPLORER_METHODS = ['page', 'pageSorted', 'facets', 'phaseFacets'] as const;
export type ExplorerMethod = (typeof EXPLORER_METHODS)[number];

/** The explorer's reads, as the HTTP routes call them: EpisodeQueries' methods, answered later. */
export type ExplorerReads = {
  [K in ExplorerMethod]: (...args: Parameters<EpisodeQueries[K]>) => Promise<ReturnType<EpisodeQueries[K]>>;
};

/** What the main thread tells the explorer thread at start. */
export interface ExplorerWorkerData {
  /** The state dir whose catalog it reads (read-only). */
  stateDir: string;
}

/** A read posted to the explorer thread. */
export type ExplorerCommand =
  | { type: 'call'; id: number; method: ExplorerMethod; args: unknown[] }
  | { type: 'stop' };

/** The explorer thread's answer to one call: its value, or its error's message and code. */
export type ExplorerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; code: string | null };
