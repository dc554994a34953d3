import type { DashboardEvent } from '../protocol/index.js';
import { DashboardError } from '../util/errors.js';

/**
 * The bus's event log behind a small interface, so that a shared log (Redis Streams) can later
 * replace the in-memory ring when several dashboards share one stream (DESIGN §3).
 *
 * Sequence numbers in a log are contiguous: each appended event has `seq` one above the last.
 */
export interface EventLog {
  append(event: DashboardEvent): void;
  /** Events with seq > since, oldest first; null when some of them have aged out (caller sends a fresh hello). */
  since(since: number): DashboardEvent[] | null;
  readonly oldestSeq: number | null;
  readonly newestSeq: number | null;
  readonly size: number;
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

/** Events kept for resuming clients when nothing else is configured. */
export const DEFAULT_LOG_CAPACITY = 10_000;

/**
 * Bytes (serialised) the ring may hold. Snapshots weigh ~100 KB each (200 recent episodes and
 * alerts); on a quiet lab the ring fills with them, so a count alone would let it grow to a GB.
 */
export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;

/**
 * A fixed-size ring of the newest events. Appending costs one array store; reading since a seq
 * is one slice (or two, across the wrap), found by arithmetic because seqs are contiguous.
 */
export class RingEventLog implements EventLog {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #slots: (DashboardEvent | undefined)[];
  readonly #sizes: Float64Array;
  /** Index of the oldest event in `#slots`. */
  #head = 0;
  #size = 0;
  #bytes = 0;

  /**
   * @param capacity events kept; @default 10,000
   * @param maxBytes serialised bytes kept (the oldest go first past it); @default 64 MiB
   */
  constructor(capacity: number = DEFAULT_LOG_CAPACITY, maxBytes: number = DEFAULT_LOG_MAX_BYTES) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new DashboardError(
        'bad_log_capacity',
        `event log capacity must be a positive integer, got ${capacity}`,
        {
          capacity,
        },
      );
    }
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.#slots = new Array<DashboardEvent | undefined>(capacity);
    this.#sizes = new Float64Array(capacity);
  }

  /** Serialised bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#size;
  }

  get oldestSeq(): number | null {
    return this.#size === 0 ? null : this.#at(0).seq;
  }

  get newestSeq(): number | null {
    return this.#size === 0 ? null : this.#at(this.#size - 1).seq;
  }

  append(event: DashboardEvent): void {
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

  since(since: number): DashboardEvent[] | null {
    const oldest = this.oldestSeq;
    const newest = this.newestSeq;
    if (oldest === null || newest === null) return [];
    if (since >= newest) return [];
    // The caller holds everything up to `since`; it needs since+1 onwards, which must still be here.
    if (since + 1 < oldest) return null;
    const out: DashboardEvent[] = [];
    for (let i = since + 1 - oldest; i < this.#size; i++) out.push(this.#at(i));
    return out;
  }

  /** The i-th oldest event (0 = oldest); callers keep i below size. */
  #at(i: number): DashboardEvent {
    const event = this.#slots[(this.#head + i) % this.capacity];
    if (event === undefined) throw new DashboardError('log_corrupt', `no event at ring offset ${i}`, { i });
    return event;
  }
}
