import type { LabelWithDuration } from '../protocol/api.js';
import type { LabelRecord } from './labels.js';

/**
 * Per-episode phase durations with the seed's semantics (`_aggregate_episode_labels`):
 * - records are sorted (stably) by `t_mono_ns`, a missing one sorting as 0;
 * - record i's phase lasts `t_mono_ns[i+1] − t_mono_ns[i]` seconds (never negative) and is
 *   counted — label and duration — only when both times are numbers: a non-trailing phase whose
 *   own or next time is missing is not counted at all, as in the seed;
 * - a record without a phase adds nothing but still ends the phase before it;
 * - the trailing record's phase is always counted (also when it is the only record).
 *
 * Deliberate differences from the seed:
 * - the trailing phase also gets a duration, up to `meta.json`'s `t_mono_end_ns`, when that and
 *   its own time are numbers and the end is not before it (the seed gives it none);
 * - a phase counts only when it is a non-empty string (the seed used any truthy value as a key:
 *   a number became a key, a list crashed it);
 * - a time is a number only when it is a finite JSON number: booleans (Python's `True` is 1) and
 *   overflowing literals such as `1e400` are not times; a non-number sorts as 0 (the seed
 *   crashed comparing a string time with a number);
 * - times above 2^53 are compared as doubles when sorting (Python compares exact integers; the
 *   durations are identical since the seed converts to float before subtracting).
 */

export interface EpisodePhaseTotals {
  /** Labels counted per phase. */
  counts: Record<string, number>;
  /** Seconds per phase (a key appears once a duration, even 0, was added). */
  seconds: Record<string, number>;
  /** Labels counted in total; the episode contributes to the mix when this is ≥ 1. */
  labels: number;
}

/** The episode's end on the monotonic clock, from `meta.json`, when it is a number. */
export function metaEndNs(meta: Record<string, unknown> | null): number | null {
  const end = meta?.t_mono_end_ns;
  return isTime(end) ? end : null;
}

/** Each label in time order with the seconds it added to its phase (null when none). */
export function labelsWithDurations(records: LabelRecord[], endNs: number | null): LabelWithDuration[] {
  const sorted = [...records].sort((a, b) => sortKey(a) - sortKey(b));
  const last = sorted.length - 1;
  return sorted.map((record, i) => {
    const phase = phaseOf(record);
    const t = timeOf(record);
    let duration: number | null = null;
    if (phase !== null) {
      if (i < last) {
        const next = timeOf(sorted[i + 1] as LabelRecord);
        if (t !== null && next !== null) duration = Math.max(0, (next - t) / 1e9);
      } else if (t !== null && endNs !== null && endNs >= t) {
        duration = (endNs - t) / 1e9;
      }
    }
    return { phase, t_mono_ns: t, duration_s: duration, record };
  });
}

/** Folds one episode's labels into per-phase counts and seconds. */
export function aggregateEpisode(records: LabelRecord[], endNs: number | null): EpisodePhaseTotals {
  const counts = new Map<string, number>();
  const seconds = new Map<string, number>();
  let labels = 0;
  const rows = labelsWithDurations(records, endNs);
  const last = rows.length - 1;
  rows.forEach((row, i) => {
    if (row.phase === null) return;
    // A non-trailing phase without a duration is not counted (seed); the trailing one always is.
    if (row.duration_s === null && i < last) return;
    counts.set(row.phase, (counts.get(row.phase) ?? 0) + 1);
    if (row.duration_s !== null) seconds.set(row.phase, (seconds.get(row.phase) ?? 0) + row.duration_s);
    labels++;
  });
  // fromEntries defines own properties, so a phase named "__proto__" stays a plain key.
  return { counts: Object.fromEntries(counts), seconds: Object.fromEntries(seconds), labels };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function timeOf(record: LabelRecord): number | null {
  const t = record.t_mono_ns;
  return isTime(t) ? t : null;
}

/** The seed sorts by `r.get("t_mono_ns") or 0`. */
function sortKey(record: LabelRecord): number {
  return timeOf(record) ?? 0;
}

function phaseOf(record: LabelRecord): string | null {
  const p = record.phase;
  return typeof p === 'string' && p !== '' ? p : null;
}
