import { isDatedInFuture } from '../../../protocol/future.js';

/** Bucket sizes the ingest chart may use, smallest first (seconds). */
const BUCKETS_S = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400];

/** The chart's time ranges (issue 15 item 7). */
export const RANGES = { '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, all: null } as const;
export type RangeId = keyof typeof RANGES;

export function isRange(v: string | null): v is RangeId {
  return v !== null && Object.hasOwn(RANGES, v);
}

/**
 * Receipt times the chart may plot, in ms: inside the range ending now; for `all`, from 2000 on
 * (a year 0001 record would stretch the axis over two millennia) and never dated in the future
 * (protocol/future.ts: a year +275760 record, or a host's clock ahead, would push today into one
 * spike). An episode that arrived since `now` was read (the chart reads the clock every 30 s) is
 * kept: it is not out of range, only newer than the clock. Returns how many were left out.
 */
export function timesInRange(
  times: readonly number[],
  range: RangeId,
  now: number,
): { kept: number[]; outside: number } {
  const span = RANGES[range];
  const from = span === null ? Date.UTC(2000, 0, 1) : now - span;
  const kept = times.filter((t) => t >= from && !isDatedInFuture(t, now));
  return { kept, outside: times.length - kept.length };
}

export interface IngestSeries {
  /** Bucket start times, epoch seconds (uPlot's x). */
  x: number[];
  /** Episodes received in each bucket. */
  y: number[];
  bucketSeconds: number;
}

/** Milliseconds of an ISO `received_at`; null when absent or unparseable. */
export function receivedMs(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/**
 * Episodes per time bucket from their receipt times (ms): the smallest bucket that keeps the series
 * under `maxBuckets` points over the span of the data, empty buckets included (a gap in ingest is
 * exactly what the chart must show).
 */
export function ingestSeries(
  receivedAtMs: Iterable<number>,
  maxBuckets = 120,
  /** A fixed window [from, to] in ms: the axis spans it even where nothing arrived. */
  window?: { fromMs: number; toMs: number },
): IngestSeries {
  const times: number[] = [];
  for (const ms of receivedAtMs) times.push(ms / 1000);
  if (times.length === 0 && !window) return { x: [], y: [], bucketSeconds: 60 };
  let min = window ? window.fromMs / 1000 : Number.POSITIVE_INFINITY;
  let max = window ? window.toMs / 1000 : Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const span = Math.max(1, max - min);
  const bucket = BUCKETS_S.find((b) => span / b <= maxBuckets) ?? BUCKETS_S[BUCKETS_S.length - 1] ?? 86_400;
  const start = Math.floor(min / bucket) * bucket;
  const n = Math.floor((max - start) / bucket) + 1;
  const x = Array.from({ length: n }, (_, i) => start + i * bucket);
  const y = new Array<number>(n).fill(0);
  for (const t of times) {
    const i = Math.floor((t - start) / bucket);
    y[i] = (y[i] ?? 0) + 1;
  }
  return { x, y, bucketSeconds: bucket };
}

/** "1 min", "5 min", "1 h", "1 d": the unit under the chart. */
export function bucketLabel(seconds: number): string {
  if (seconds < 3600) return `${seconds / 60} min`;
  if (seconds < 86_400) return `${seconds / 3600} h`;
  return seconds === 86_400 ? '1 d' : `${seconds / 86_400} d`;
}
