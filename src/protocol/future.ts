/**
 * When a time counts as dated in the future: more than FUTURE_SKEW_MS after the clock that reads
 * it. A minute of skew between a receiver's clock and ours (or the browser's), or an episode that
 * arrived since a page last read its clock, is not a fault to flag — the host tiles flapped to
 * "dated in the future" for on-time episodes when any time after now counted. One rule for the
 * server (the episode detail's `future_dated`, `/metrics`' count, `/api/hosts`) and the web app.
 */
export const FUTURE_SKEW_MS = 60_000;

/** True when `ms` (epoch milliseconds) is dated in the future as of `nowMs`. */
export function isDatedInFuture(ms: number, nowMs: number): boolean {
  return ms > nowMs + FUTURE_SKEW_MS;
}
