import type { UnsequencedEvent } from '../protocol/index.js';
import type { LiveEvents } from './context.js';
import { HttpError } from './errors.js';

/** The request header naming a write's request id (phase posts, alert actions). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** How long a request id is remembered: a client's retries come within it. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** Request ids a single box remembers at most (the oldest forgotten first). */
const LOCAL_KEPT = 10_000;

const KEY = /^[\x21-\x7e]{1,128}$/;

/** The request's `Idempotency-Key` (1–128 visible ASCII characters), null without one; 400 when malformed. */
export function idempotencyKey(headers: Record<string, string | string[] | undefined>): string | null {
  const raw = headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return null;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !KEY.test(value) || (Array.isArray(raw) && raw.length > 1)) {
    throw new HttpError(
      400,
      'bad_idempotency_key',
      'header Idempotency-Key must be one value of 1–128 visible ASCII characters',
    );
  }
  return value;
}

/**
 * Appends an API event at most once per request id: on a replica the shared stream's append script
 * keeps the id (every replica sees it, a retry may land on another one); on one box this process
 * remembers it. `beforeFirst` runs only for the first (a single box's own store). Without an id:
 * appended as always.
 */
export class IdempotentPublisher {
  readonly #seen = new Map<string, { seq: number; at: number }>();

  async publish(
    events: LiveEvents,
    scope: string,
    key: string | null,
    event: UnsequencedEvent,
    beforeFirst?: () => void,
  ): Promise<{ seq: number; duplicate: boolean }> {
    if (key === null) {
      beforeFirst?.();
      return { seq: (await events.publish(event)).seq, duplicate: false };
    }
    const scoped = `${scope}:${key}`;
    if (events.publishOnce) return events.publishOnce(event, { key: scoped, ttlMs: IDEMPOTENCY_TTL_MS });
    const now = Date.now();
    const seen = this.#seen.get(scoped);
    if (seen && now - seen.at < IDEMPOTENCY_TTL_MS) return { seq: seen.seq, duplicate: true };
    beforeFirst?.();
    const { seq } = await events.publish(event);
    this.#seen.delete(scoped);
    this.#seen.set(scoped, { seq, at: now });
    if (this.#seen.size > LOCAL_KEPT) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return { seq, duplicate: false };
  }
}
