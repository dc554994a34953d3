import { randomBytes } from 'node:crypto';
import {
  type DashboardEvent,
  type DashboardState,
  emptyState,
  type HelloMessage,
  type UnsequencedEvent,
} from '../protocol/index.js';
import { applyEvent } from '../protocol/reduce.js';
import { errorMessage } from '../util/errors.js';
import { createLogger, type Logger } from '../util/log.js';
import { DEFAULT_LOG_CAPACITY, type EventLog, RingEventLog } from './event-log.js';

export interface BusOptions {
  /** Where events are kept for resuming clients. @default a RingEventLog of `capacity` */
  log?: EventLog;
  /** Capacity of the default ring log. @default 10,000 */
  capacity?: number;
  /** Fixed epoch (tests); otherwise random per process start. */
  epoch?: string;
  /** State the bus starts from. @default emptyState() */
  initialState?: DashboardState;
  /** Where a subscriber that throws is reported. @default a pino logger at level `error` */
  logger?: Logger;
}

/** What a client that reconnects with `?since=SEQ&epoch=E` gets. */
export type ResumeResult = { kind: 'events'; events: DashboardEvent[] } | { kind: 'reset' };

export interface BusStats {
  seq: number;
  events_total_by_type: Record<string, number>;
  log_size: number;
}

type Subscriber = (event: DashboardEvent) => void;

/** A fresh epoch: time-ordered prefix for humans reading logs, random suffix for uniqueness. */
function newEpoch(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/**
 * The only holder of live state (DESIGN §3). Feeders publish events; the bus stamps a seq, folds
 * the event into its state with the shared reducer (so a client applying the same events holds
 * the same state), keeps it in the log for resuming clients and hands it to subscribers.
 * Everything happens synchronously inside `publish`, so a subscriber that reads `hello()` and
 * subscribes in the same tick can never miss or double an event.
 */
export class Bus {
  readonly epoch: string;
  readonly #log: EventLog;
  readonly #logger: Logger;
  /**
   * Copy-on-write: publish iterates the array it read, so a subscription added by a subscriber
   * (after reading `hello()`, which already includes the event) does not also receive that event.
   */
  #subscribers: readonly Subscriber[] = [];
  readonly #countsByType: Record<string, number> = {};
  #state: DashboardState;
  #seq: number;

  constructor(opts: BusOptions = {}) {
    this.epoch = opts.epoch ?? newEpoch();
    this.#log = opts.log ?? new RingEventLog(opts.capacity ?? DEFAULT_LOG_CAPACITY);
    this.#logger = opts.logger ?? createLogger({ level: 'error' });
    this.#state = opts.initialState ?? emptyState();
    // A log that already holds events (a shared one) continues their numbering.
    this.#seq = this.#log.newestSeq ?? 0;
  }

  /** Last assigned seq (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /** Merged persistent state as of `seq`. */
  get state(): DashboardState {
    return this.#state;
  }

  /** Stamps the next seq, applies the reducer, appends to the log and notifies every subscriber. */
  publish(event: UnsequencedEvent): DashboardEvent {
    // The cast is sound: UnsequencedEvent is DashboardEvent minus `seq`, distributed over the union.
    const sequenced = { ...event, seq: this.#seq + 1 } as DashboardEvent;
    const next = applyEvent(this.#state, sequenced);
    this.#log.append(sequenced);
    this.#seq = sequenced.seq;
    this.#state = next;
    this.#countsByType[sequenced.type] = (this.#countsByType[sequenced.type] ?? 0) + 1;
    for (const fn of this.#subscribers) {
      try {
        fn(sequenced);
      } catch (err) {
        // One broken subscriber must neither lose the event for the others nor fail the feeder.
        this.#logger.error(
          { err, seq: sequenced.seq, type: sequenced.type },
          `bus subscriber threw: ${errorMessage(err)}`,
        );
      }
    }
    return sequenced;
  }

  /** Calls `fn` for every event published from now on; returns the unsubscribe function. */
  subscribe(fn: Subscriber): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry: Subscriber = (event) => fn(event);
    this.#subscribers = [...this.#subscribers, entry];
    return () => {
      this.#subscribers = this.#subscribers.filter((s) => s !== entry);
    };
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
    const events = this.#log.since(since);
    return events === null ? { kind: 'reset' } : { kind: 'events', events };
  }

  stats(): BusStats {
    return { seq: this.#seq, events_total_by_type: { ...this.#countsByType }, log_size: this.#log.size };
  }
}
