/**
 * Timestamps in the data root may be ISO-8601 strings or epoch seconds (DESIGN §1). Both become
 * ISO-8601 UTC strings on the wire; anything else becomes null.
 */
export function normalizeTimestamp(value: unknown): string | null {
  const ms = timestampMs(value);
  return ms === null ? null : new Date(ms).toISOString();
}

/** Milliseconds since the epoch for an ISO-8601 string or epoch seconds; null when neither. */
export function timestampMs(value: unknown): number | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    const ms = value * 1000;
    return Math.abs(ms) <= 8.64e15 ? ms : null;
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') return null;
    // A bare number in a string is epoch seconds too.
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return timestampMs(Number(trimmed));
    const ms = Date.parse(trimmed);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}
