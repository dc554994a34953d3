import readline from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { DashboardEvent } from '../protocol/index.js';
import { DashboardError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { BackfillJob, ReplicaCatalog } from './catalog.js';

/** Rows asked of an agent per request. */
const PAGE_ROWS = 5000;

/** How long one page may take before the agent counts as not answering. */
const PAGE_TIMEOUT_MS = 60_000;

export interface CatalogBackfillOptions {
  catalog: ReplicaCatalog;
  logger: Logger;
  /** The agent's URL from its heartbeat; null when it has none (down). */
  agentUrl(receiver: string): Promise<string | null>;
  /** Sent as `Authorization: Bearer` (the agents' read token); null sends none. */
  token: string | null;
  /** Wait before trying a receiver's agent again after it failed. @default 2000 */
  retryMs?: number;
}

/** A receiver whose older rows the catalog still lacks, as /readyz reports it. */
export interface PendingBackfill {
  receiver: string;
  /** Rows with seq up to this one are fetched from the agent. */
  upto: number;
  done_through: number;
  /** Why the last try failed (agent down, refused, …), or null while it goes well. */
  error: { code: string; message: string; since: string } | null;
  /** Seqs the agent itself lacks for good (its row store lost them): the catalog never gets them. */
  gap: { from: number; to: number } | null;
}

/** What the catalog lacks, if anything: /readyz says so. */
export interface CatalogCompleteness {
  complete: boolean;
  pending: PendingBackfill[];
}

interface RowsHeader {
  epoch: string;
  complete: boolean;
  gap: { from: number; to: number } | null;
}

function stamp(line: { seq: number; event: DashboardEvent }, receiver: string): DashboardEvent {
  const event = line.event as DashboardEvent & { receiver?: string };
  event.seq = line.seq;
  if (event.receiver === undefined) event.receiver = receiver;
  return event;
}

/**
 * Fills a replica catalog's older rows from the receivers' agents (`GET /api/rows`) after it was
 * built from a stream that no longer held them: one job per receiver (catalog `replica_backfill`),
 * paged, each page written with the job's progress in one transaction, so a restart resumes where
 * it stopped. An agent that is down or refuses is logged, reported (`status()`, on /readyz) and
 * tried again every `retryMs`; the catalog is reported incomplete until every job is done.
 */
export class CatalogBackfill {
  readonly #o: CatalogBackfillOptions;
  readonly #errors = new Map<string, PendingBackfill['error']>();
  readonly #gaps = new Map<string, PendingBackfill['gap']>();
  readonly #stop = new AbortController();
  #wake: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #kicked = false;

  constructor(o: CatalogBackfillOptions) {
    this.#o = o;
  }

  /** Starts (or wakes) the worker: jobs were added. */
  kick(): void {
    if (this.#stop.signal.aborted) return;
    this.#kicked = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = null;
      // Kicked after its last look at the jobs: look again.
      if (this.#kicked) this.kick();
    });
    this.#wake?.();
  }

  status(): CatalogCompleteness {
    const pending = this.#o.catalog.backfillJobs().map(
      (j): PendingBackfill => ({
        receiver: j.receiver,
        upto: j.upto,
        done_through: j.doneThrough,
        error: this.#errors.get(j.receiver) ?? null,
        gap: this.#gaps.get(j.receiver) ?? null,
      }),
    );
    return { complete: pending.length === 0 && this.#gaps.size === 0, pending };
  }

  async stop(): Promise<void> {
    this.#stop.abort(new DashboardError('replica_stopped', 'the replica is stopping'));
    this.#wake?.();
    await this.#running?.catch(() => undefined);
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      this.#kicked = false;
      const jobs = this.#o.catalog.backfillJobs();
      if (jobs.length === 0) return;
      let failed = false;
      for (const job of jobs) {
        if (signal.aborted) return;
        try {
          await this.#fill(job);
          if (this.#errors.get(job.receiver)) {
            this.#o.logger.info(
              { receiver: job.receiver },
              'catalog rows of this receiver fetched from its agent',
            );
          }
          this.#errors.delete(job.receiver);
        } catch (err) {
          if (signal.aborted) return;
          failed = true;
          this.#noteError(job, err);
        }
      }
      if (failed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#o.retryMs ?? 2000);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }

  #noteError(job: BackfillJob, err: unknown): void {
    const code = err instanceof DashboardError ? err.code : 'agent_unreachable';
    const message = errorMessage(err);
    const was = this.#errors.get(job.receiver);
    if (was?.code === code && was.message === message) return;
    this.#errors.set(job.receiver, { code, message, since: was?.since ?? new Date().toISOString() });
    this.#o.logger.warn(
      { receiver: job.receiver, code, upto: job.upto, doneThrough: job.doneThrough },
      `catalog incomplete: rows of receiver ${job.receiver} up to seq ${job.upto} not fetched from its agent (${message}); trying again`,
    );
  }

  /** Fetches the job's rows page by page until it is done. */
  async #fill(start: BackfillJob): Promise<void> {
    let job = start;
    for (;;) {
      const url = await this.#o.agentUrl(job.receiver);
      if (url === null) {
        throw new DashboardError('agent_unavailable', `the agent of ${job.receiver} has no live heartbeat`);
      }
      const query = new URLSearchParams({
        epoch: job.epoch,
        after: String(job.doneThrough),
        upto: String(job.upto),
        limit: String(PAGE_ROWS),
      });
      const headers: Record<string, string> = {};
      if (this.#o.token !== null) headers.authorization = `Bearer ${this.#o.token}`;
      const res = await fetch(`${url.replace(/\/+$/, '')}/api/rows?${query}`, {
        headers,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(PAGE_TIMEOUT_MS)]),
      });
      if (!res.ok || res.body === null) {
        const text = await res.text().catch(() => '');
        let code = `agent_http_${res.status}`;
        try {
          code = (JSON.parse(text) as { error: { code: string } }).error.code ?? code;
        } catch {
          // not an API error body
        }
        throw new DashboardError(
          code,
          `the agent of ${job.receiver} answered ${res.status}: ${text.slice(0, 300)}`,
        );
      }
      let header: RowsHeader | null = null;
      let end: { last_seq: number; more: boolean } | null = null;
      const events: DashboardEvent[] = [];
      const lines = readline.createInterface({
        input: Readable.fromWeb(res.body as ReadableStream),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      for await (const line of lines) {
        if (line === '') continue;
        const v = JSON.parse(line) as Record<string, unknown>;
        if (header === null) header = v as unknown as RowsHeader;
        else if (v.end === true) end = v as unknown as { last_seq: number; more: boolean };
        else events.push(stamp(v as unknown as { seq: number; event: DashboardEvent }, job.receiver));
      }
      if (header === null || end === null) {
        throw new DashboardError('agent_rows_truncated', `the row export of ${job.receiver} ended early`);
      }
      if (header.epoch !== job.epoch) {
        throw new DashboardError('epoch_mismatch', `the agent of ${job.receiver} answered another epoch`);
      }
      if (!header.complete && header.gap && !this.#gaps.has(job.receiver)) {
        this.#gaps.set(job.receiver, header.gap);
        this.#o.logger.error(
          { receiver: job.receiver, gap: header.gap },
          `catalog incomplete for good: the agent of ${job.receiver} lacks its rows in seqs ${header.gap.from}–${header.gap.to} (the stream was trimmed before it learned them)`,
        );
      }
      const doneThrough = end.more ? end.last_seq : job.upto;
      if (!this.#o.catalog.applyBackfill(job, events, doneThrough, !end.more)) return;
      if (!end.more) return;
      job = { ...job, doneThrough };
    }
  }
}
