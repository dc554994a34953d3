import type { IngestEntry, IngestProjection } from '../bus/ingest-log.js';
import type { DashboardEvent, DashboardState, UnsequencedEvent } from '../protocol/index.js';
import { applyEvents } from '../protocol/reduce.js';
import { isTransientRedisError } from '../scaleout/redis-errors.js';
import type { AppendBatch, AppendResult, RedisStreamLog, SourceMark } from '../scaleout/redis-stream-log.js';
import { ownEvent, receiverStateOf, type SnapshotWriteResult, writeSnapshot } from '../scaleout/snapshot.js';
import { DashboardError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { AppendGate } from './gate.js';
import type { AgentRowStore, AnsweredMark } from './rows.js';

/** A tailed source, as named in marks: its path relative to the data root. */
export type MarkSource = 'index.jsonl' | 'alerts.jsonl';

export const MARK_SOURCE: Record<'index' | 'alerts', MarkSource> = {
  index: 'index.jsonl',
  alerts: 'alerts.jsonl',
};

export interface AgentAppenderOptions {
  log: RedisStreamLog;
  receiver: string;
  logger: Logger;
  /** The epoch the readers' positions and `state` belong to. */
  epoch: string;
  /** This receiver's state as of the stream's last seq (its snapshot plus its events after it). */
  state: DashboardState;
  /** The marks found at start, per source: file key → offset (what had landed before this run). */
  startMarks: ReadonlyMap<MarkSource, ReadonlyMap<string, number>>;
  /** A batch straddles its file's mark: re-read that file from `markOffset`. */
  onOverlap(source: MarkSource, fileKey: string, markOffset: number): void;
  /** The stream has another epoch: start over (every file from byte 0, an empty state). */
  onEpochChanged(epoch: string): void;
  /** Wait before sending an unkeyed batch again after Redis refused it. @default 250 */
  retryMs?: number;
  /**
   * Called when a keyed append was answered `appended`, before anything else happens (the reader
   * has not moved on, the state is not updated): the fault tests kill the agent here.
   */
  afterAppend?(): void;
  /** The agent's copy of its catalog rows (for replicas that start after the stream was trimmed). */
  rows?: Pick<AgentRowStore, 'record' | 'markDirty'>;
  /** The stream's last seq when this run started: every append of this run gets a higher one. */
  headAtStart?: number;
}

export interface AppenderStats {
  batches_appended: number;
  batches_skipped: number;
  events_appended: number;
  overlaps: number;
  /** Keyed appends sent again after a lost connection. */
  resends: number;
  /** Seq of the last event this agent appended (0 before any). */
  last_seq: number;
}

/** Unkeyed events replace state (a host's disk or health, the phase mix): the newest per key wins. */
function stateKey(e: UnsequencedEvent): string {
  return 'host_id' in e && typeof e.host_id === 'string' ? `${e.type}:${e.host_id}` : e.type;
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Unkeyed events sent in one append at most. */
const UNKEYED_BATCH = 500;

/**
 * The agent's sink for the pipeline's readers (an ingest-log projection): each index or alerts
 * batch becomes one keyed append — the events with their receiver, marked with the bytes of the
 * file they came from — and the reader is held until Redis answers (one batch in flight per
 * source; the tailer advances only after `apply` resolves). Events without a file (disk, health,
 * phase mix, data root) are appended unkeyed, newest per host and type, in the background.
 *
 * It also keeps this receiver's state: the protocol reducer over every event of this receiver in
 * the stream, applied when its append is answered. `snapshot` writes it with the stream's seq while
 * no append is in flight, so it is exact at that seq.
 */
export class AgentAppender implements IngestProjection {
  readonly #o: AgentAppenderOptions;
  readonly #gate = new AppendGate();
  readonly #abort = new AbortController();
  readonly #unkeyed = new Map<string, UnsequencedEvent>();
  #pumping: Promise<void> | null = null;
  #state: DashboardState;
  #epochGone = false;
  #outage = false;
  readonly #stats: AppenderStats = {
    batches_appended: 0,
    batches_skipped: 0,
    events_appended: 0,
    overlaps: 0,
    resends: 0,
    last_seq: 0,
  };

  constructor(o: AgentAppenderOptions) {
    this.#o = o;
    this.#state = o.state;
  }

  get state(): DashboardState {
    return this.#state;
  }

  get epoch(): string {
    return this.#o.epoch;
  }

  stats(): AppenderStats {
    return { ...this.#stats };
  }

  /** The ingest log's entry: a reader's batch, appended before the reader goes on. */
  async apply(entry: IngestEntry): Promise<void> {
    if (entry.kind !== 'records' || !entry.span) return;
    const { span, checkpoint } = entry;
    if (checkpoint.offset <= span.startOffset) return; // only skip reports: no byte consumed
    const source = MARK_SOURCE[entry.source];
    const receiver = this.#o.receiver;
    const events: UnsequencedEvent[] =
      entry.source === 'index'
        ? entry.records.map((r) => ({ type: 'episode', ...r, receiver }))
        : entry.records.map((a) => ({ type: 'alert', ...a, receiver }));
    const mark = {
      source,
      fileId: span.fileKey,
      startOffset: span.startOffset,
      endOffset: checkpoint.offset,
    };
    // The same mark, as the row store keeps it (by the rows its source carries).
    const answered: AnsweredMark = {
      kind: entry.source === 'index' ? 'episode' : 'alert',
      fileId: mark.fileId,
      offset: mark.endOffset,
    };
    this.#checkEpoch();
    await this.#gate.enter();
    // Whatever this batch lands at is above every seq answered before it is first sent.
    const sentAfter = Math.max(this.#stats.last_seq, this.#o.headAtStart ?? 0);
    const resend = { resent: false };
    let result: AppendResult;
    try {
      result = await this.#appendUntilAnswered(
        { receiver, mark, events, expectEpoch: this.#o.epoch },
        resend,
      );
      const resent = resend.resent;
      this.#noteBack();
      switch (result.status) {
        case 'appended':
          this.#o.afterAppend?.();
          this.#stats.batches_appended++;
          this.#stats.events_appended += events.length;
          this.#stats.last_seq = Math.max(this.#stats.last_seq, result.lastSeq);
          this.#recordRows(result.firstSeq, events, answered);
          this.#applyLocal(events);
          return;
        case 'skipped': {
          this.#stats.batches_skipped++;
          // Landed already. If by a try of this run whose answer was lost, its events are in the
          // stream but not yet in the state; if before this run (below the start mark), they are.
          const before = this.#o.startMarks.get(source)?.get(span.fileKey) ?? 0;
          let noted = true;
          if (resent && mark.endOffset > before) {
            this.#applyLocal(events);
            // Its seqs were in the lost answer: the row store finds them in the stream.
            try {
              this.#o.rows?.markDirty(sentAfter + 1);
            } catch (err) {
              noted = false;
              this.#o.logger.error({ err }, 'row store not written (noted in memory)');
            }
          }
          // The stream's mark is where this batch ends: the store keeps that it knows so — unless
          // the dirt is only in memory (a next run must then find this source's mark ahead).
          if (noted) this.#recordMark(answered);
          return;
        }
        case 'overlap':
          this.#stats.overlaps++;
          this.#o.logger.warn(
            { source, fileKey: span.fileKey, mark, markOffset: result.markOffset },
            'batch straddles the mark in Redis; reading the file again from the mark',
          );
          this.#o.onOverlap(source, span.fileKey, result.markOffset);
          throw new DashboardError('append_overlap', `${source}: re-reading from ${result.markOffset}`);
        case 'epoch_changed':
          this.#epochChanged(result.epoch);
          throw new DashboardError('epoch_changed', 'the stream has a new epoch; starting over');
      }
    } finally {
      this.#gate.leave();
    }
  }

  /**
   * Sends the keyed batch until Redis answers it: a lost connection at once (appendKeyed), any other
   * failure after a pause. Never gives the reader an error for those: it would offer the same lines
   * again, and its duplicate check would then drop every record in them as a repeat.
   */
  async #appendUntilAnswered(
    batch: AppendBatch & { mark: SourceMark },
    resend: { resent: boolean },
  ): Promise<AppendResult> {
    const signal = this.#abort.signal;
    const onResend = (err: unknown) => {
      resend.resent = true;
      this.#stats.resends++;
      this.#noteOutage(err);
    };
    for (;;) {
      try {
        return await this.#o.log.appendKeyed(batch, { signal, onResend });
      } catch (err) {
        if (signal.aborted) throw err;
        onResend(err);
        await abortableDelay(this.#o.retryMs ?? 250, signal);
      }
    }
  }

  /** An event without a file: appended in the background, the newest per host and type. */
  publish(event: UnsequencedEvent): void {
    if (this.#epochGone || this.#abort.signal.aborted) return;
    this.#unkeyed.set(stateKey(event), event);
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = null;
    });
  }

  /** Resolves once every unkeyed event published so far was appended (or the appender stopped). */
  async flushUnkeyed(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  /** Writes this receiver's snapshot, exact at the stream's last seq (appends wait meanwhile). */
  async snapshot(): Promise<SnapshotWriteResult> {
    this.#checkEpoch();
    const result = await this.#gate.exclusive(() =>
      writeSnapshot(this.#o.log, this.#o.receiver, this.#o.epoch, receiverStateOf(this.#state)),
    );
    if (result.status === 'epoch_changed') this.#epochChanged(result.epoch);
    return result;
  }

  /** Resolves once no append is in flight: every row appended so far is recorded (or noted dirty). */
  settled(): Promise<void> {
    return this.#gate.exclusive(async () => undefined);
  }

  /** Stops: appends waiting for Redis give up (their readers are stopped by the owner). */
  stop(): void {
    this.#abort.abort(new DashboardError('agent_stopped', 'the agent is stopping'));
    this.#unkeyed.clear();
  }

  /**
   * The answered batch's rows into the row store. A failing store (full disk) must not fail the
   * batch — the reader would offer its lines again — so its seqs are noted dirty instead (in
   * memory at least) and found in the stream later.
   */
  #recordRows(firstSeq: number, events: readonly UnsequencedEvent[], mark: AnsweredMark): void {
    const { rows } = this.#o;
    if (!rows) return;
    try {
      rows.record(firstSeq, events, mark);
    } catch (err) {
      this.#o.logger.error(
        { err, firstSeq },
        'row store not written; its rows will be read back from the stream',
      );
      try {
        rows.markDirty(firstSeq);
      } catch {
        // noted in memory by markDirty before it failed to write
      }
    }
  }

  /** A `skipped` batch's mark into the row store; a failing store leaves the source dirty at the next start. */
  #recordMark(mark: AnsweredMark): void {
    try {
      this.#o.rows?.record(0, [], mark);
    } catch (err) {
      this.#o.logger.error(
        { err },
        'row store not written (the next run reads this source back from the stream)',
      );
    }
  }

  #applyLocal(events: readonly UnsequencedEvent[]): void {
    // The reducer never reads `seq` (it leaves it out of what it keeps): no stamped copies needed.
    // This receiver's own state: its events as their receiver's own (scaleout/snapshot.ts `ownEvent`).
    this.#state = applyEvents(
      this.#state,
      events.map(ownEvent) as readonly UnsequencedEvent[] as readonly DashboardEvent[],
    );
  }

  #checkEpoch(): void {
    if (this.#epochGone)
      throw new DashboardError('epoch_changed', 'the stream has a new epoch; starting over');
  }

  #epochChanged(epoch: string): void {
    if (this.#epochGone) return;
    this.#epochGone = true;
    this.#o.logger.warn(
      { previous: this.#o.epoch, epoch },
      'the stream has a new epoch (Redis lost its data): sending every file again from byte 0',
    );
    this.#o.onEpochChanged(epoch);
  }

  #noteOutage(err: unknown): void {
    if (this.#outage) return;
    this.#outage = true;
    this.#o.logger.warn({ err }, 'redis away: appends wait and are sent again (readers hold their position)');
  }

  #noteBack(): void {
    if (!this.#outage) return;
    this.#outage = false;
    this.#o.logger.info('redis back: appends answered again');
  }

  async #pump(): Promise<void> {
    const signal = this.#abort.signal;
    while (this.#unkeyed.size > 0 && !signal.aborted && !this.#epochGone) {
      const taken = [...this.#unkeyed.entries()].slice(0, UNKEYED_BATCH);
      for (const [key] of taken) this.#unkeyed.delete(key);
      const events = taken.map(([, e]) => e);
      while (!signal.aborted && !this.#epochGone) {
        await this.#gate.enter();
        try {
          const result = await this.#o.log.append({
            receiver: this.#o.receiver,
            events,
            expectEpoch: this.#o.epoch,
          });
          this.#noteBack();
          if (result.status === 'epoch_changed') this.#epochChanged(result.epoch);
          else {
            if (result.status === 'appended')
              this.#stats.last_seq = Math.max(this.#stats.last_seq, result.lastSeq);
            this.#applyLocal(events);
          }
          break;
        } catch (err) {
          if (!isTransientRedisError(err)) {
            this.#o.logger.error({ err, events: events.length }, 'unkeyed append failed; dropped');
            break;
          }
          this.#noteOutage(err);
        } finally {
          this.#gate.leave();
        }
        // Sent again after a pause (it may land twice: a replacement, harmless).
        await abortableDelay(this.#o.retryMs ?? 250, signal).catch(() => undefined);
      }
    }
  }
}
