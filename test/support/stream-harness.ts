/** Test helpers for the scale-out log (test-only: shipped code never imports this file). */
import { onTestFinished } from 'vitest';
import type { UnsequencedEvent } from '../../src/protocol/index.js';
import type { StreamRecord } from '../../src/scaleout/records.js';
import { RedisStreamLog, type RedisStreamLogOptions } from '../../src/scaleout/redis-stream-log.js';
import type { SubscribeHandler } from '../../src/scaleout/subscription.js';

/** A `RedisStreamLog` closed when the current test finishes. */
export async function openLog(
  url: string,
  options: Partial<RedisStreamLogOptions> = {},
): Promise<RedisStreamLog> {
  const log = await RedisStreamLog.open({ url, ...options });
  onTestFinished(() => log.close());
  return log;
}

/** An episode event whose id names the line it stands for. */
export function episode(id: string): UnsequencedEvent {
  return {
    type: 'episode',
    episode_id: id,
    host_id: 'host-01',
    sha256: null,
    size_bytes: null,
    received_at: null,
  };
}

/** `count` episode events for lines `first..first+count-1` of `prefix`. */
export function lines(prefix: string, first: number, count: number): UnsequencedEvent[] {
  return Array.from({ length: count }, (_, i) => episode(`${prefix}:${first + i}`));
}

/** A subscribe handler that keeps every record and lets a test wait for a count or a reset. */
export class Collector implements SubscribeHandler {
  readonly received: StreamRecord[] = [];
  resets: { reason: string; epoch: string | null; nextSeq: number }[] = [];
  errors: unknown[] = [];
  #waiters = new Set<() => void>();

  records(batch: StreamRecord[]): void {
    this.received.push(...batch);
    this.#wake();
  }

  reset(reason: 'epoch' | 'trimmed', detail: { epoch: string | null; nextSeq: number }): void {
    this.resets.push({ reason, ...detail });
    this.#wake();
  }

  error(err: unknown): void {
    this.errors.push(err);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves once `predicate` holds (checked on every delivery); rejects on a subscription error. */
  until(predicate: (c: Collector) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.errors.length > 0) {
          this.#waiters.delete(check);
          reject(this.errors[0]);
        } else if (predicate(this)) {
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** The episode ids of records (or of unsequenced events), in order; other events by their type. */
export function episodeIds(items: readonly (StreamRecord | UnsequencedEvent)[]): string[] {
  return items.map((item) => {
    const event = 'event' in item ? item.event : item;
    return event.type === 'episode' ? event.episode_id : event.type;
  });
}
