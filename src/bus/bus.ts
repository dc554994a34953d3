import {
  type DashboardEvent,
  type DashboardState,
  emptyState,
  type HelloMessage,
  type UnsequencedEvent,
} from '../protocol/index.js';
import { applyEvent, applyEvents } from '../protocol/reduce.js';
import type { Logger } from '../util/log.js';
import { DEFAULT_LOG_CAPACITY, DEFAULT_LOG_MAX_BYTES, type EventLog, RingEventLog } from './event-log.js';

export interface BusOptions {
  /** The event log it projects. @default a RingEventLog of `capacity` */
  log?: EventLog;
  /** Capacity of the default ring log. @default 10,000 */
  capacity?: number;
  /** Fixed epoch of the default log (tests); otherwise random per process start. */
  epoch?: string;
  /** State the projection starts from. @default emptyState() */
  initialState?: DashboardState;
  /** Where a subscriber that throws is reported (default log). @default a pino logger at level `error` */
  logger?: Logger;
}

/** What a client that reconnects with `?since=SEQ&epoch=E` gets. */
export type ResumeResult = { kind: 'events'; events: DashboardEvent[] } | { kind: 'reset' };

export interface BusStats {
  seq: number;
  events_total_by_type: Record<string, number>;
  log_size: number;
}

/**
 * What the WebSocket hub and the routes read: the log's position and epoch, the state as of it,
 * resume answers, and new events. Narrow on purpose: neither knows where events come from.
 */
export interface LiveFeed {
  readonly epoch: string;
  readonly seq: number;
  readonly state: DashboardState;
  subscribe(fn: (event: DashboardEvent) => void): () => void;
  hello(reset?: boolean): HelloMessage;
  /**
   * A promise when the answer needs an asynchronous read (a replica reading what its ring no longer
   * holds from the shared stream): it must then cover every event up to the feed's seq at the time
   * it settles; the hub holds that client's live events meanwhile.
   */
  resume(since: number, epoch: string | undefined): ResumeResult | Promise<ResumeResult>;
}

/**
 * The live state's projection of the event log (DESIGN §3): it folds every event into the state
 * with the shared reducer (so a client applying the same events holds the same state), first of
 * the log's subscribers, before any other sees the event. `publish` appends to the log, which
 * stamps the seq and calls its subscribers synchronously, so a reader that takes `hello()` and
 * subscribes in the same tick can never miss or double an event.
 */
export class Bus implements LiveFeed {
  readonly #log: EventLog;
  readonly #countsByType: Record<string, number> = {};
  #state: DashboardState;
  #seq: number;

  constructor(opts: BusOptions = {}) {
    this.#log =
      opts.log ??
      new RingEventLog(opts.capacity ?? DEFAULT_LOG_CAPACITY, DEFAULT_LOG_MAX_BYTES, {
        ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      });
    this.#state = opts.initialState ?? emptyState();
    // A log that already holds events (a shared one) continues their numbering.
    this.#seq = this.#log.seq;
    const count = (event: DashboardEvent) => {
      this.#countsByType[event.type] = (this.#countsByType[event.type] ?? 0) + 1;
    };
    if (this.#log.subscribeBatch) {
      // A follower's read arrives whole: folded with one copy of the maps it changes.
      this.#log.subscribeBatch((events) => {
        this.#state = applyEvents(this.#state, events);
        this.#seq = events.at(-1)?.seq ?? this.#seq;
        for (const event of events) count(event);
      });
    } else {
      this.#log.subscribe((event) => {
        this.#state = applyEvent(this.#state, event);
        this.#seq = event.seq;
        count(event);
      });
    }
  }

  get epoch(): string {
    return this.#log.epoch;
  }

  /** Last applied seq (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /** Merged persistent state as of `seq`. */
  get state(): DashboardState {
    return this.#state;
  }

  /**
   * Appends to the log (which stamps the seq); the state has the event when this returns.
   * `members`: the text between the braces of `JSON.stringify(event)`, when the caller has it
   * (see `EventLog.append`).
   */
  publish(event: UnsequencedEvent, members?: string): DashboardEvent {
    return members === undefined ? this.#log.append(event) : this.#log.append(event, members);
  }

  /**
   * Appends a reader's batch of events in order: folded into the state with one copy of the maps
   * and lists they change (not one per event) where the log delivers them together.
   */
  publishAll(events: readonly UnsequencedEvent[]): void {
    if (events.length === 0) return;
    if (this.#log.appendAll) this.#log.appendAll(events);
    else for (const event of events) this.#log.append(event);
  }

  /** Calls `fn` for every event appended from now on (after the state has it); returns the unsubscribe function. */
  subscribe(fn: (event: DashboardEvent) => void): () => void {
    return this.#log.subscribe(fn);
  }

  /** The first message of a connection: the state as of `seq`. */
  hello(reset = false): HelloMessage {
    const hello: HelloMessage = { type: 'hello', epoch: this.epoch, seq: this.#seq, state: this.#state };
    if (reset) hello.reset = true;
    return hello;
  }

  /**
   * What a client holding everything up to `since` in `epoch` needs: the missed events when the
   * log still has them all, otherwise `reset` (the client must take a fresh hello and replace its
   * state). Another epoch, a `since` beyond our seq (another server's numbers) or a `since` that
   * is not a non-negative integer all mean `reset`.
   */
  resume(since: number, epoch: string | undefined): ResumeResult {
    if (epoch !== this.epoch) return { kind: 'reset' };
    if (!Number.isSafeInteger(since) || since < 0 || since > this.#seq) return { kind: 'reset' };
    if (since === this.#seq) return { kind: 'events', events: [] };
    const events = this.#log.read(since + 1);
    return events === null ? { kind: 'reset' } : { kind: 'events', events };
  }

  stats(): BusStats {
    return { seq: this.#seq, events_total_by_type: { ...this.#countsByType }, log_size: this.#log.size };
  }
}
