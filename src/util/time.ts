/**
 * Timestamps in the data root may be ISO-8601 strings or epoch seconds (DESIGN §1). Both become
 * ISO-8601 UTC strings on the wire; anything else becomes null.
 */
export function normalizeTimestamp(value: unknown): string | null {
  // The receiver writes canonical UTC strings; passing those through saves a parse and a format
  // per index line (most of a large index's first pass otherwise).
  if (typeof value === 'string' && isCanonicalUtc(value)) return value;
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
    const canonical = canonicalUtcMs(value);
    if (!Number.isNaN(canonical)) return canonical;
    const trimmed = value.trim();
    if (trimmed === '') return null;
    // A bare number in a string is epoch seconds too.
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return timestampMs(Number(trimmed));
    const ms = Date.parse(trimmed);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

const ZERO = 48;

function digits(s: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ` with fields in range: exactly what `toISOString()` prints. */
export function isCanonicalUtc(s: string): boolean {
  return !Number.isNaN(canonicalUtcMs(s));
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of a canonical UTC string, NaN for anything else. Reads the digits directly: the
 * receiver writes this form, and this is several times cheaper than Date.parse on a large index.
 */
export function canonicalUtcMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(23) !== 90 /* Z */ || s.charCodeAt(10) !== 84 /* T */)
    return Number.NaN;
  if (s[4] !== '-' || s[7] !== '-' || s[13] !== ':' || s[16] !== ':' || s[19] !== '.') return Number.NaN;
  return utcFields(
    digits(s, 0, 4),
    digits(s, 5, 2),
    digits(s, 8, 2),
    digits(s, 11, 2),
    digits(s, 14, 2),
    digits(s, 17, 2),
    digits(s, 20, 3),
  );
}

function digitsAt(b: Uint8Array, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = (b[i] as number) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * `canonicalUtcMs` of the 24 bytes at `at` (ASCII), without decoding them to a string first: the
 * cold start's byte-level index reader calls it once per line.
 */
export function canonicalUtcMsAt(b: Uint8Array, at: number): number {
  if (b[at + 23] !== 90 /* Z */ || b[at + 10] !== 84 /* T */) return Number.NaN;
  if (b[at + 4] !== 45 || b[at + 7] !== 45 || b[at + 13] !== 58 || b[at + 16] !== 58 || b[at + 19] !== 46)
    return Number.NaN;
  return dateTimeAt(b, at, digitsAt(b, at + 20, 3));
}

/**
 * The last hour read (`YYYY-MM-DDTHH`) and its epoch ms. An index is written in time order, so
 * most lines share the previous line's hour: the date's checks and `Date.UTC` then run once an
 * hour of data instead of once a line. Keyed by the bytes themselves, so it is never stale.
 */
const lastHour = new Uint8Array(13);
let lastHourMs = Number.NaN;

/**
 * Epoch ms of `YYYY-MM-DDTHH:MM:SS` at `at` plus `milli`. Callers have checked the separators
 * (the '-' at 4 and 7, 'T' at 10), so the hour is the same when its ten digits are.
 */
function dateTimeAt(b: Uint8Array, at: number, milli: number): number {
  const minute = digitsAt(b, at + 14, 2);
  const second = digitsAt(b, at + 17, 2);
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return Number.NaN;
  const sameHour =
    !Number.isNaN(lastHourMs) &&
    b[at] === lastHour[0] &&
    b[at + 1] === lastHour[1] &&
    b[at + 2] === lastHour[2] &&
    b[at + 3] === lastHour[3] &&
    b[at + 5] === lastHour[5] &&
    b[at + 6] === lastHour[6] &&
    b[at + 8] === lastHour[8] &&
    b[at + 9] === lastHour[9] &&
    b[at + 11] === lastHour[11] &&
    b[at + 12] === lastHour[12];
  if (!sameHour) {
    const hourMs = utcFields(
      digitsAt(b, at, 4),
      digitsAt(b, at + 5, 2),
      digitsAt(b, at + 8, 2),
      digitsAt(b, at + 11, 2),
      0,
      0,
      0,
    );
    if (Number.isNaN(hourMs)) return Number.NaN;
    lastHour.set(b.subarray(at, at + 13));
    lastHourMs = hourMs;
  }
  // Within an hour, Date.UTC is exactly this sum (JavaScript time has no leap seconds).
  return lastHourMs + minute * 60_000 + second * 1000 + milli;
}

/**
 * Epoch ms of an ISO-8601 date-time in the bytes [at, end) of the form
 * `YYYY-MM-DDTHH:MM:SS[.f…]` then `Z` or `±HH:MM` (Python's `isoformat()` writes
 * `…SS.ffffff+00:00`), with every field in range; NaN for anything else, which the caller then
 * hands to Date.parse. Within this form it gives what Date.parse gives: the fraction truncated
 * to milliseconds, the offset subtracted. (Out-of-range fields, which Date.parse may roll over,
 * are never decided here.)
 */
export function isoMsAt(b: Uint8Array, at: number, end: number): number {
  const len = end - at;
  if (len === 24 && b[at + 23] === 90) return canonicalUtcMsAt(b, at);
  if (len < 20 || b[at + 10] !== 84 /* T */) return Number.NaN;
  if (b[at + 4] !== 45 || b[at + 7] !== 45 || b[at + 13] !== 58 || b[at + 16] !== 58) return Number.NaN;
  let p = at + 19;
  let milli = 0;
  if (b[p] === 46 /* . */) {
    p++;
    const from = p;
    while (p < end && (b[p] as number) >= 48 && (b[p] as number) <= 57) p++;
    const digits = p - from;
    if (digits === 0 || digits > 9) return Number.NaN;
    for (let k = 0; k < 3; k++) milli = milli * 10 + (k < digits ? (b[from + k] as number) - ZERO : 0);
  }
  let offsetMinutes = 0;
  if (p === end - 1 && b[p] === 90 /* Z */) {
    // UTC.
  } else if (p === end - 6 && (b[p] === 43 || b[p] === 45) && b[p + 3] === 58) {
    const hours = digitsAt(b, p + 1, 2);
    const minutes = digitsAt(b, p + 4, 2);
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return Number.NaN;
    offsetMinutes = (b[p] === 45 ? -1 : 1) * (hours * 60 + minutes);
  } else {
    return Number.NaN;
  }
  return dateTimeAt(b, at, milli) - offsetMinutes * 60_000;
}

/** Epoch ms of the fields, NaN when one is out of range (a digit missing reads as -1). */
function utcFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  milli: number,
): number {
  if (
    year < 0 ||
    milli < 0 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return Number.NaN;
  }
  if (month < 1 || month > 12 || day < 1) return Number.NaN;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const monthDays = month === 2 && leap ? 29 : (MONTH_DAYS[month - 1] as number);
  if (day > monthDays) return Number.NaN;
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second, milli);
  // Date.UTC reads years 0–99 as 1900–1999; the string means the year itself.
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, milli));
  return d.setUTCFullYear(year);
}
