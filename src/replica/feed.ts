import { Bus, type BusStats, type ResumeResult } from '../bus/bus.js';
import { DEFAULT_LOG_MAX_BYTES, presetSerialised, RingEventLog } from '../bus/event-log.js';
import type { LiveEvents } from '../http/context.js';
import type { DashboardEvent, DashboardState, HelloMessage, UnsequencedEvent } from '../protocol/index.js';
import type { StreamRecord } from '../scaleout/records.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';
import type { Logger } from '../util/log.js';

/** The stream receiver name of events a replica appends itself (`POST /api/phase`). */
export const API_RECEIVER = '_api';

/** Event types that belong to one receiver's data root: the replica stamps the receiver on them. */
const PER_RECEIVER = new Set<DashboardEvent['type']>([
  'episode',
  'alert',
  'host_disk',
  'health',
  'snapshot',
  'phase_mix',
  'ready',
  'data_root',
]);

/**
 * A stream record as the replica's clients see it: the event with its receiver stamped, so the
 * shared reducer keys its hosts by (receiver, host) and sums the totals over receivers. The same
 * record gives the same event on every replica, whenever it is read: a viewer can resume anywhere.
 */
export function clientEvent(record: StreamRecord): DashboardEvent {
  const { event, receiver } = record;
  // An agent's events name their receiver already (the usual case): the event as it was read.
  const stamped =
    receiver === API_RECEIVER ||
    !PER_RECEIVER.has(event.type) ||
    ('receiver' in event && event.receiver === receiver);
  if (!stamped) return { ...event, receiver } as DashboardEvent;
  if (record.json !== undefined) presetSerialised(event, record.json);
  return event;
}

/** Events one asynchronous resume may read from the stream before it answers `reset`. */
const MAX_RESUME_EVENTS = 100_000;

/**
 * The replica's live feed: the follower log (the in-process ring, fed the stream's seq and epoch,
 * checking contiguity) and the live state folded from it by the same Bus as on one box, behind the
 * interfaces the WebSocket hub and the routes read. `rebase` starts both over at a new position (a
 * rebuild); `resume` reads from the stream what the ring no longer holds; `publish` appends to the
 * stream and answers once Redis acknowledged it (the event comes back through the subscription).
 */
export class ReplicaFeed implements LiveEvents {
  readonly #stream: RedisStreamLog;
  readonly #capacity: number;
  readonly #logger: Logger;
  #log: RingEventLog;
  #bus: Bus;
  #subscribers: readonly ((event: DashboardEvent) => void)[] = [];

  constructor(stream: RedisStreamLog, capacity: number, logger: Logger) {
    this.#stream = stream;
    this.#capacity = capacity;
    this.#logger = logger;
    this.#log = new RingEventLog(1, DEFAULT_LOG_MAX_BYTES, { epoch: '', logger });
    this.#bus = new Bus({ log: this.#log });
  }

  /** Starts over: `state` is exact at `seq` of `epoch`; the next event followed must be `seq + 1`. */
  rebase(epoch: string, seq: number, state: DashboardState): void {
    this.#log = new RingEventLog(this.#capacity, DEFAULT_LOG_MAX_BYTES, {
      epoch,
      startSeq: seq,
      logger: this.#logger,
    });
    this.#bus = new Bus({ log: this.#log, initialState: state });
    // After the bus's own subscriber: whoever hears an event reads a state that already has it.
    this.#log.subscribe((event) => {
      for (const fn of this.#subscribers) fn(event);
    });
  }

  /** The next event of the stream (its seq must be `seq + 1`, else `seq_not_contiguous`). */
  follow(event: DashboardEvent): void {
    this.#log.follow(event);
  }

  /** `follow` for one read of the stream: the live state folds them together. */
  followAll(events: readonly DashboardEvent[]): void {
    this.#log.followAll(events);
  }

  get epoch(): string {
    return this.#bus.epoch;
  }

  get seq(): number {
    return this.#bus.seq;
  }

  get state(): DashboardState {
    return this.#bus.state;
  }

  subscribe(fn: (event: DashboardEvent) => void): () => void {
    const entry = (event: DashboardEvent) => fn(event);
    this.#subscribers = [...this.#subscribers, entry];
    return () => {
      this.#subscribers = this.#subscribers.filter((s) => s !== entry);
    };
  }

  hello(reset?: boolean): HelloMessage {
    return this.#bus.hello(reset);
  }

  /**
   * From the ring when it still holds `since + 1`, else from the stream (then the ring for the
   * rest): every event after `since` up to this feed's seq when the promise settles, or `reset`.
   */
  resume(since: number, epoch: string | undefined): ResumeResult | Promise<ResumeResult> {
    const fromRing = this.#bus.resume(since, epoch);
    if (fromRing.kind === 'events' || epoch !== this.epoch) return fromRing;
    if (!Number.isSafeInteger(since) || since < 0 || since >= this.seq) return fromRing;
    return this.#resumeFromStream(since, epoch);
  }

  async #resumeFromStream(since: number, epoch: string): Promise<ResumeResult> {
    const events: DashboardEvent[] = [];
    let after = since;
    for (;;) {
      if (epoch !== this.epoch) return { kind: 'reset' };
      const ring = this.#bus.resume(after, epoch);
      if (ring.kind === 'events') return { kind: 'events', events: [...events, ...ring.events] };
      if (events.length >= MAX_RESUME_EVENTS) return { kind: 'reset' };
      const oldest = this.#log.oldestSeq ?? this.seq + 1;
      const records = await this.#stream.read(after + 1, {
        epoch,
        limit: Math.max(1, Math.min(oldest - after - 1, 10_000)),
      });
      if (records === null || records.length === 0) return { kind: 'reset' };
      for (const record of records) events.push(clientEvent(record));
      after = records.at(-1)?.event.seq ?? after;
    }
  }

  /** `publish` with a request id: the append script appends it once per `once.key` (within its TTL). */
  async publishOnce(
    event: UnsequencedEvent,
    once: { key: string; ttlMs: number },
  ): Promise<{ seq: number; duplicate: boolean }> {
    const result = await this.#stream.append({ receiver: API_RECEIVER, events: [event], idempotency: once });
    if (result.status === 'duplicate') return { seq: result.firstSeq, duplicate: true };
    if (result.status !== 'appended') throw new Error(`append answered ${result.status}`);
    return { seq: result.firstSeq, duplicate: false };
  }

  /** Appends to the stream (a phase post); resolves with its seq once Redis acknowledged it. */
  async publish(event: UnsequencedEvent): Promise<{ seq: number }> {
    const result = await this.#stream.append({ receiver: API_RECEIVER, events: [event] });
    if (result.status !== 'appended') throw new Error(`append answered ${result.status}`);
    return { seq: result.firstSeq };
  }

  stats(): BusStats {
    return this.#bus.stats();
  }
}
