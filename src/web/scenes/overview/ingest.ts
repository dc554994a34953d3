/** Bucket sizes the ingest chart may use, smallest first (seconds). */
const BUCKETS_S = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400];

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
export function ingestSeries(receivedAtMs: Iterable<number>, maxBuckets = 120): IngestSeries {
  const times: number[] = [];
  for (const ms of receivedAtMs) times.push(ms / 1000);
  if (times.length === 0) return { x: [], y: [], bucketSeconds: 60 };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
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
