import { FUTURE_SKEW_MS, isDatedInFuture } from '../protocol/future.js';
import type { Db } from './db.js';

/**
 * Indexed episodes whose `received_at` is dated in the future as of `nowMs` (protocol/future.ts:
 * a receiver clock set wrong, a hand-edited line). They stay in the catalog as written; the "last hour" / "last 24 h" views and
 * a host's "last episode" clamp at now, and this count flags them (`/metrics`). A range read at
 * the end of the time index (`<table>_by_time`): cost in future-dated rows, not in the catalog's
 * size. While a cold bulk load has that index dropped the count throws ("no such index") rather
 * than scan every row on each scrape: a 1M-line load scraped every 250 ms spent ≈ 5 s of the
 * main thread's CPU here, beside the writer it delays.
 */
export function countFutureDated(db: Db, nowMs: number, table: EpisodeTable = 'episodes'): number {
  return db
    .prepare(`SELECT count(*) FROM ${table} INDEXED BY ${table}_by_time WHERE received_ms > ?`)
    .pluck()
    .get(nowMs + FUTURE_SKEW_MS) as number;
}

/** The single box's catalog table, or a replica's (`serve --redis`): both index `received_ms`. */
export type EpisodeTable = 'episodes' | 'replica_episodes';

/** True when `receivedAt` (ISO-8601) is dated in the future as of `nowMs` (protocol/future.ts). */
export function isFutureDated(receivedAt: string | null, nowMs: number): boolean {
  if (receivedAt === null) return false;
  const ms = Date.parse(receivedAt);
  return Number.isFinite(ms) && isDatedInFuture(ms, nowMs);
}

/**
 * `countFutureDated` as of now, or null when the catalog cannot be read or its time index is being
 * rebuilt (a scrape never fails on it; the gauge is then left out).
 */
export function futureDatedOrNull(db: Db, table: EpisodeTable = 'episodes'): number | null {
  try {
    return countFutureDated(db, Date.now(), table);
  } catch {
    return null;
  }
}
