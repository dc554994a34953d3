import type { Logger } from '../util/log.js';
import { parseEntries, type StreamRecord } from './records.js';
import { isTransientRedisError } from './redis-errors.js';
import type { SendCommand } from './scripts.js';

/** What a subscriber is told. `records` may return a promise: the next read waits for it. */
export interface SubscribeHandler {
  /** Consecutive records, oldest first; the first one's seq is the one after the last delivered. */
  records(batch: StreamRecord[]): void | Promise<void>;
  /**
   * The subscription cannot go on and has stopped: `epoch` — the stream's epoch is no longer the
   * one subscribed to (Redis lost its data); `trimmed` — the next seq was trimmed away before it
   * was read. Either way the subscriber must rebuild its state (snapshot + stream) and subscribe again.
   */
  reset(reason: 'epoch' | 'trimmed', detail: { epoch: string | null; nextSeq: number }): void;
  /** The subscription stopped: `records` threw. */
  error?(err: unknown): void;
  /**
   * Reads began failing (`err`: Redis away, or a read it refused) or, with null, answer again.
   * The loop itself reads on (every second after a refused read) until it is closed.
   */
  readFailing?(err: unknown | null): void;
}

export interface Subscription {
  /** Stops the loop and closes its connection; resolves when both are done. */
  close(): Promise<void>;
  /** Resolves when the loop has stopped (closed, reset or failed). */
  readonly done: Promise<void>;
}

export interface SubscriptionTarget {
  /** A dedicated connection: XREAD BLOCK holds it, so nothing else may share it. */
  send: SendCommand;
  /** Closes the dedicated connection (a blocked XREAD is rejected). */
  disconnect(): Promise<void>;
  /** Registers a callback for every reconnection of the dedicated connection. */
  onReconnect(fn: () => void): void;
  keys: { meta: string; stream: string };
  epoch: string;
  /** Entries per XREAD. */
  count: number;
  /** Milliseconds one XREAD blocks before it is sent again. */
  blockMs: number;
  logger: Logger;
}

/** Pause before a read Redis refused is sent again. */
const REFUSED_RETRY_MS = 1000;

/**
 * The XREAD BLOCK loop: delivers every seq from `fromSeq` on, in order, exactly once, across
 * Redis restarts (the blocked read fails, the client reconnects, the loop checks the epoch and
 * reads on from the last delivered seq). A gap in the seqs means trimming: it stops with `reset`.
 */
export function startSubscription(
  target: SubscriptionTarget,
  fromSeq: number,
  handler: SubscribeHandler,
): Subscription {
  let closed = false;
  let checkEpoch = true;
  /** Reads are failing (told to `readFailing` once per spell); refused ones were logged. */
  let failing = false;
  let refused = false;
  let next = Math.max(1, Math.floor(fromSeq));
  target.onReconnect(() => {
    checkEpoch = true;
  });

  const loop = async (): Promise<void> => {
    while (!closed) {
      let reply: unknown;
      try {
        if (checkEpoch) {
          const epoch = (await target.send(['HGET', target.keys.meta, 'epoch'])) as string | null;
          if (epoch !== target.epoch) {
            handler.reset('epoch', { epoch, nextSeq: next });
            return;
          }
          checkEpoch = false;
        }
        reply = await target.send([
          'XREAD',
          'COUNT',
          String(target.count),
          'BLOCK',
          String(target.blockMs),
          'STREAMS',
          target.keys.stream,
          `${next - 1}-0`,
        ]);
      } catch (err) {
        if (closed) return;
        // Whatever Redis comes back with, its epoch is checked before the next read.
        checkEpoch = true;
        if (!failing) handler.readFailing?.(err);
        failing = true;
        if (isTransientRedisError(err)) {
          // The client reconnects by itself and queues the next command until it has.
          target.logger.debug({ err }, 'stream subscription: redis away, reading on after reconnect');
          continue;
        }
        // A read Redis refused (misconfigured, a key of another type): said once, tried again
        // every second. Stopping here left a replica serving a frozen state for good.
        if (!refused)
          target.logger.warn({ err }, 'stream subscription: read refused; trying again every second');
        refused = true;
        await new Promise((resolve) => setTimeout(resolve, REFUSED_RETRY_MS));
        continue;
      }
      if (failing) handler.readFailing?.(null);
      failing = false;
      refused = false;
      if (reply === null) continue;
      const stream = (reply as unknown[][])[0];
      const records = parseEntries(stream?.[1]);
      if (records.length === 0) continue;
      if (records[0]?.event.seq !== next) {
        handler.reset('trimmed', { epoch: target.epoch, nextSeq: next });
        return;
      }
      next += records.length;
      try {
        await handler.records(records);
      } catch (err) {
        handler.error?.(err);
        return;
      }
    }
  };

  const done = loop().finally(() => {
    closed = true;
    return target.disconnect();
  });
  return {
    done,
    async close() {
      closed = true;
      await target.disconnect();
      await done;
    },
  };
}
