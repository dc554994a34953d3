import type { AlertRecord, EpisodeRecord } from '../protocol/index.js';
import { normalizeTimestamp } from '../util/time.js';

/** Why a line of a JSONL input was not accepted as a record. */
export type RecordSkipReason = 'malformed_json' | 'not_object' | 'missing_fields';

export type ParseResult<T> = { ok: true; record: T } | { ok: false; reason: RecordSkipReason };

const INDEX_FIELDS = new Set(['episode_id', 'host_id', 'sha256', 'size_bytes', 'received_at_wall', 'path']);
const ALERT_FIELDS = new Set(['host', 'symptom', 'detail', 'suggested_fix', 'detected_at_wall', 'dedup_key']);

/** JSON.parse that never throws and only accepts objects (DESIGN §4.6: `null`, arrays, scalars are skipped). */
export function parseObject(line: string): ParseResult<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'malformed_json' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'not_object' };
  return { ok: true, record: value as Record<string, unknown> };
}

function idString(value: unknown): string | null {
  if (typeof value === 'string') return value.length > 0 ? value : null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function optionalString(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function extraFields(obj: Record<string, unknown>, known: Set<string>): Record<string, unknown> | undefined {
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    extra ??= {};
    extra[key] = obj[key];
  }
  return extra;
}

/**
 * One `index.jsonl` line → an episode. An episode needs an `episode_id` and a `host_id` (the
 * totals count unique ids with a host); other fields are optional, and unknown ones are kept.
 */
export function parseIndexLine(line: string): ParseResult<EpisodeRecord> {
  const parsed = parseObject(line);
  if (!parsed.ok) return parsed;
  const obj = parsed.record;
  const key = indexKey(obj);
  if (!key) return { ok: false, reason: 'missing_fields' };
  const record: EpisodeRecord = {
    episode_id: key.episode_id,
    host_id: key.host_id,
    sha256: typeof obj.sha256 === 'string' ? obj.sha256 : null,
    size_bytes: key.size_bytes,
    received_at: normalizeTimestamp(obj.received_at_wall),
  };
  if (typeof obj.path === 'string') record.path = obj.path;
  const extra = extraFields(obj, INDEX_FIELDS);
  if (extra) record.extra = extra;
  return { ok: true, record };
}

/**
 * The fields that decide whether an index object is an episode and what it adds to the totals.
 * Shared by the per-line parser and the first pass's compact one, so both accept exactly alike.
 */
export function indexKey(
  obj: Record<string, unknown>,
): { episode_id: string; host_id: string; size_bytes: number | null } | null {
  const episode_id = idString(obj.episode_id);
  const host_id = idString(obj.host_id);
  if (episode_id === null || host_id === null) return null;
  const size = obj.size_bytes;
  return {
    episode_id,
    host_id,
    size_bytes: typeof size === 'number' && Number.isFinite(size) && size >= 0 ? Math.trunc(size) : null,
  };
}

/** One `alerts.jsonl` line → an alert. Every object line is an alert; fields may be missing. */
export function parseAlertLine(line: string): ParseResult<AlertRecord> {
  const parsed = parseObject(line);
  if (!parsed.ok) return parsed;
  const obj = parsed.record;
  const record: AlertRecord = {
    host_id: idString(obj.host),
    symptom: optionalString(obj.symptom),
    detail: optionalString(obj.detail),
    suggested_fix: optionalString(obj.suggested_fix),
    detected_at: normalizeTimestamp(obj.detected_at_wall),
    dedup_key: optionalString(obj.dedup_key),
  };
  const extra = extraFields(obj, ALERT_FIELDS);
  if (extra) record.extra = extra;
  return { ok: true, record };
}

/** A short, single-line excerpt of a rejected line for logs. */
export function excerpt(line: string, max = 120): string {
  const flat = line.replace(/[\r\n\t]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
