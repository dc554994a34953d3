import type { Db } from './db.js';

/**
 * Indexed episodes whose `received_at` is later than `nowMs` (a receiver clock set wrong, a
 * hand-edited line). They stay in the catalog as written; the "last hour" / "last 24 h" views and
 * a host's "last episode" clamp at now, and this count flags them (`/metrics`). A range read at
 * the end of the time index: cost in future-dated rows, not in the catalog's size.
 */
export function countFutureDated(db: Db, nowMs: number): number {
  return db.prepare('SELECT count(*) FROM episodes WHERE received_ms > ?').pluck().get(nowMs) as number;
}

/** True when `receivedAt` (ISO-8601) is later than `nowMs`: the record is dated in the future. */
export function isFutureDated(receivedAt: string | null, nowMs: number): boolean {
  if (receivedAt === null) return false;
  const ms = Date.parse(receivedAt);
  return Number.isFinite(ms) && ms > nowMs;
}

/** `countFutureDated` as of now, or null when the catalog cannot be read (a scrape never fails on it). */
export function futureDatedOrNull(db: Db): number | null {
  try {
    return countFutureDated(db, Date.now());
  } catch {
    return null;
  }
}
