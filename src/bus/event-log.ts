import { randomBytes } from 'node:crypto';
import type { DashboardEvent, UnsequencedEvent } from '../protocol/index.js';
import { DashboardError, errorMessage } from '../util/errors.js';
import { createLogger, type Logger } from '../util/log.js';

export type EventSubscriber = (event: DashboardEvent) => void;
export type BatchSubscriber = (events: readonly DashboardEvent[]) => void;

/** A subscription: to each event, or to each delivery's events together. */
type Subscriber = { one: EventSubscriber; many?: undefined } | { many: BatchSubscriber; one?: undefined };

/**
 * The event log (DESIGN §3): the seam between what produces events and what consumes them (the
 * live state, the WebSocket hub, metrics). The log assigns `seq` (contiguous: each event one above
 * the last), owns the `epoch` (a restart, or another log, starts another), keeps the newest events
 * for resuming readers and hands every appended event to its subscribers, in order. In-process by
 * default (RingEventLog); a shared log (Redis Streams) can take its place behind this interface.
 */
export interface EventLog {
  readonly epoch: string;
  /** Last assigned seq (0 before any). */
  readonly seq: number;
  /**
   * Stamps the next seq, keeps the event and calls every subscriber before returning it. `members`,
   * when the caller has them, is the text between the braces of `JSON.stringify(event)`: the log
   * may make the stamped event's JSON from it instead of stringifying the event again (a snapshot
   * is ~70 KB).
   */
  append(event: UnsequencedEvent, members?: string): DashboardEvent;
  /**
   * `append` for several events at once (one batch of a reader): stamped in order and delivered
   * as one delivery — a batch subscriber (the live state) folds them together, the per-event
   * subscribers get them one by one. Optional: a log without it is appended to event by event.
   */
  appendAll?(events: readonly UnsequencedEvent[]): DashboardEvent[];
  /**
   * Events with seq >= fromSeq, oldest first ([] when fromSeq is past the newest); null when some
   * of them have aged out (a resuming reader must start over from a fresh state).
   */
  read(fromSeq: number): DashboardEvent[] | null;
  /** Calls `fn` for every event appended from now on; returns the unsubscribe function. */
  subscribe(fn: EventSubscriber): () => void;
  /**
   * Like `subscribe`, but `fn` gets the events of one delivery together (one or more, in order;
   * a follower of a shared log delivers a whole read at once). Optional: a log without it is
   * subscribed to event by event.
   */
  subscribeBatch?(fn: BatchSubscriber): () => void;
  readonly oldestSeq: number | null;
  readonly newestSeq: number | null;
  readonly size: number;
}

/** A fresh epoch: time-ordered prefix for humans reading logs, random suffix for uniqueness. */
export function newEpoch(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

const serialised = new WeakMap<DashboardEvent, string>();

/**
 * An event's JSON, computed once and shared: the log weighs it, the hub sends it to every
 * client and replays it, and none of them stringifies the event again.
 */
export function serialise(event: DashboardEvent): string {
  let json = serialised.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    serialised.set(event, json);
  }
  return json;
}

/**
 * Gives `event` its JSON when the caller already has it (a replica reads it from the stream), so
 * `serialise` need not stringify it. `json` must be what `JSON.stringify(event)` gives.
 */
export function presetSerialised(event: DashboardEvent, json: string): void {
  serialised.set(event, json);
}

/**
 * The JSON of `{ ...event, seq }` from the members of `JSON.stringify(event)`: the same text, since
 * spreading keeps the key order and `seq` goes last (an unsequenced event has no `seq` and has a
 * `type`, so its members are never empty). Joined, not copied: the text is laid out flat once,
 * where it is first sent.
 */
export function withSeq(members: string, seq: number): string {
  return `{${members},"seq":${seq}}`;
}

/** Events kept for resuming clients when nothing else is configured. */
export const DEFAULT_LOG_CAPACITY = 10_000;

/**
 * Bytes (serialised) the ring may hold. Snapshots weigh ~100 KB each (200 recent episodes and
 * alerts); on a quiet lab the ring fills with them, so a count alone would let it grow to a GB.
 */
export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;

export interface RingEventLogOptions {
  /** Fixed epoch (tests); otherwise random per process start. */
  epoch?: string;
  /** Where a subscriber that throws is reported. @default a pino logger at level `error` */
  logger?: Logger;
  /**
   * The seq the log starts after (a follower of a shared log starts where its state is exact);
   * the next event is `startSeq + 1`. @default 0
   */
  startSeq?: number;
}

/**
 * The in-process event log: a fixed-size ring of the newest events. Appending costs one array
 * store; reading from a seq is one slice (or two, across the wrap), found by arithmetic because
 * seqs are contiguous.
 */
export class RingEventLog implements EventLog {
  readonly epoch: string;
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #slots: (DashboardEvent | undefined)[];
  readonly #sizes: Float64Array;
  /** Index of the oldest event in `#slots`. */
  #head = 0;
  #size = 0;
  #bytes = 0;
  #seq = 0;
  readonly #logger: Logger;
  /**
   * Copy-on-write: append iterates the array it read, so a subscription added by a subscriber
   * (after reading a state that already includes the event) does not also receive that event.
   */
  #subscribers: readonly Subscriber[] = [];

  /**
   * @param capacity events kept; @default 10,000
   * @param maxBytes serialised bytes kept (the oldest go first past it); @default 64 MiB
   */
  constructor(
    capacity: number = DEFAULT_LOG_CAPACITY,
    maxBytes: number = DEFAULT_LOG_MAX_BYTES,
    options: RingEventLogOptions = {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new DashboardError(
        'bad_log_capacity',
        `event log capacity must be a positive integer, got ${capacity}`,
        {
          capacity,
        },
      );
    }
    this.epoch = options.epoch ?? newEpoch();
    this.#logger = options.logger ?? createLogger({ level: 'error' });
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.#slots = new Array<DashboardEvent | undefined>(capacity);
    this.#sizes = new Float64Array(capacity);
    this.#seq = options.startSeq ?? 0;
  }

  /** Serialised bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#size;
  }

  get seq(): number {
    return this.#seq;
  }

  get oldestSeq(): number | null {
    return this.#size === 0 ? null : this.#at(0).seq;
  }

  get newestSeq(): number | null {
    return this.#size === 0 ? null : this.#at(this.#size - 1).seq;
  }

  append(event: UnsequencedEvent, members?: string): DashboardEvent {
    // The cast is sound: UnsequencedEvent is DashboardEvent minus `seq`, distributed over the union.
    const sequenced = { ...event, seq: this.#seq + 1 } as DashboardEvent;
    if (members !== undefined) presetSerialised(sequenced, withSeq(members, sequenced.seq));
    this.#deliver(sequenced);
    return sequenced;
  }

  appendAll(events: readonly UnsequencedEvent[]): DashboardEvent[] {
    const sequenced = events.map((event, i) => ({ ...event, seq: this.#seq + 1 + i }) as DashboardEvent);
    if (sequenced.length > 0) this.#deliverAll(sequenced);
    return sequenced;
  }

  /**
   * The follower's append (a replica of a shared log): the event already carries its seq, given by
   * the shared log, and must be the next one (`seq + 1`); anything else throws `seq_not_contiguous`
   * and changes nothing. Kept and delivered like an appended event.
   */
  follow(event: DashboardEvent): DashboardEvent {
    this.followAll([event]);
    return event;
  }

  /**
   * `follow` for consecutive events (one read of the shared log): every seq is checked before
   * anything changes; then all are kept and delivered as one batch — a batch subscriber (the live
   * state) gets them together, before the per-event subscribers get them one by one.
   */
  followAll(events: readonly DashboardEvent[]): void {
    for (const [i, event] of events.entries()) {
      if (event.seq !== this.#seq + 1 + i) {
        throw new DashboardError(
          'seq_not_contiguous',
          `event seq ${event.seq} does not follow ${this.#seq + i}`,
          {
            seq: event.seq,
            newest: this.#seq + i,
          },
        );
      }
    }
    if (events.length > 0) this.#deliverAll(events);
  }

  #deliver(sequenced: DashboardEvent): void {
    this.#deliverAll([sequenced]);
  }

  #deliverAll(events: readonly DashboardEvent[]): void {
    for (const event of events) {
      this.#keep(event);
      this.#seq = event.seq;
    }
    for (const sub of this.#subscribers) {
      if (sub.many) this.#call(() => sub.many(events), events[0] as DashboardEvent);
      else for (const event of events) this.#call(() => sub.one(event), event);
    }
    // Delivered: every subscriber that sends the JSON has made what it sends of it. The ring keeps
    // the events and their weights, not their text (up to 64 MiB of snapshots, promoted to the old
    // generation and marked by every full collection); a resuming reader's events are stringified
    // again (`serialise` keeps them from then on, for a reconnect storm).
    for (const event of events) serialised.delete(event);
  }

  #call(fn: () => void, event: DashboardEvent): void {
    try {
      fn();
    } catch (err) {
      // One broken subscriber must neither lose the event for the others nor fail the producer.
      this.#logger.error(
        { err, seq: event.seq, type: event.type },
        `event log subscriber threw: ${errorMessage(err)}`,
      );
    }
  }

  subscribe(fn: EventSubscriber): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    return this.#add({ one: (event) => fn(event) });
  }

  subscribeBatch(fn: BatchSubscriber): () => void {
    return this.#add({ many: (events) => fn(events) });
  }

  #add(entry: Subscriber): () => void {
    this.#subscribers = [...this.#subscribers, entry];
    return () => {
      this.#subscribers = this.#subscribers.filter((s) => s !== entry);
    };
  }

  /** Keeps a stamped event in the ring (the oldest go past the capacity or the byte budget). */
  #keep(event: DashboardEvent): void {
    const newest = this.newestSeq;
    // The replay arithmetic relies on contiguous seqs; a gap would silently serve wrong events.
    if (newest !== null && event.seq !== newest + 1) {
      throw new DashboardError('seq_not_contiguous', `event seq ${event.seq} does not follow ${newest}`, {
        seq: event.seq,
        newest,
      });
    }
    if (this.#size === this.capacity) this.#dropOldest();
    const slot = (this.#head + this.#size) % this.capacity;
    const bytes = serialise(event).length;
    this.#slots[slot] = event;
    this.#sizes[slot] = bytes;
    this.#size += 1;
    this.#bytes += bytes;
    // Keep the newest event even if it alone is over the budget: a client needs it to resume.
    while (this.#bytes > this.maxBytes && this.#size > 1) this.#dropOldest();
  }

  #dropOldest(): void {
    this.#bytes -= this.#sizes[this.#head] as number;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size -= 1;
  }

  read(fromSeq: number): DashboardEvent[] | null {
    // Seqs start at 1.
    const from = Math.max(1, fromSeq);
    if (from > this.#seq) return [];
    const oldest = this.oldestSeq;
    // The reader needs `from` onwards, which must still be here.
    if (oldest === null || from < oldest) return null;
    const out: DashboardEvent[] = [];
    for (let i = from - oldest; i < this.#size; i++) out.push(this.#at(i));
    return out;
  }

  /** The i-th oldest event (0 = oldest); callers keep i below size. */
  #at(i: number): DashboardEvent {
    const event = this.#slots[(this.#head + i) % this.capacity];
    if (event === undefined) throw new DashboardError('log_corrupt', `no event at ring offset ${i}`, { i });
    return event;
  }
}
