/**
 * Wall times in the data root (`received_at_wall`, `detected_at_wall`) and in queries.
 *
 * Accepted forms (DESIGN §1), everything a Python receiver writes:
 * - epoch seconds, as a JSON number (`1764843072`, `1764843072.123456`) or a string of digits;
 * - ISO-8601 date-times: `YYYY-MM-DD` then `T`, `t` or a space, `HH:MM[:SS[.f…]]` (any number of
 *   fraction digits, truncated to milliseconds; `,` also marks the fraction), then optionally `Z`,
 *   `±HH:MM[:SS[.ffffff]]`, `±HHMM` or `±HH` — `datetime.isoformat()` with and without an offset
 *   and a fraction, and `str(datetime)`; a plain date `YYYY-MM-DD` is its midnight; years may be
 *   written `±YYYYYY` as `Date.prototype.toISOString` does beyond year 9999.
 *
 * A date-time without an offset ("naive") is read as **UTC**, whatever the server's time zone:
 * the receiver's clock is expected to be UTC, and the same line must mean the same instant on
 * every server. A string in the ISO shape whose fields name no real instant (`2026-02-30`, month
 * 13, hour 24, second 60, offset +24:00) is *impossible* (`IMPOSSIBLE_TIME`): a parser rejects
 * its line rather than roll it over into another day as `Date.parse` does. Anything else
 * (`"yesterday"`, `true`, NaN, an epoch beyond JavaScript's dates) is *no time* (NaN / null).
 */

/** What `wallMs` gives for an ISO-shaped string naming an impossible instant. */
export const IMPOSSIBLE_TIME = Number.POSITIVE_INFINITY;

/** Largest |epoch ms| a Date holds. */
const MAX_MS = 8.64e15;

/** Epoch seconds → ms; NaN when not finite or beyond JavaScript's dates. */
export function epochMs(seconds: number): number {
  const ms = seconds * 1000;
  return Math.abs(ms) <= MAX_MS ? ms : Number.NaN;
}

/**
 * Epoch ms of a wall time in any accepted form; NaN for no time, IMPOSSIBLE_TIME for an
 * impossible one (see the module comment).
 */
export function wallMs(value: unknown): number {
  if (typeof value === 'number') return epochMs(value);
  if (typeof value !== 'string') return Number.NaN;
  // Plain Uint8Array, not Buffer: the web app (episode filter) runs this module in the browser.
  const bytes = value.length > scratch.length ? new Uint8Array(value.length) : scratch;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) return Number.NaN;
    bytes[i] = c;
  }
  return wallMsAt(bytes, 0, value.length);
}

const scratch = new Uint8Array(64);

/** Milliseconds since the epoch for a wall time in any accepted form; null for none or impossible. */
export function timestampMs(value: unknown): number | null {
  const ms = wallMs(value);
  return Number.isFinite(ms) ? ms : null;
}

/** A wall time as canonical ISO-8601 UTC (`toISOString`); null for none or impossible. */
export function normalizeTimestamp(value: unknown): string | null {
  // Canonical strings pass through: saves a format per line when the receiver writes them.
  if (typeof value === 'string' && isCanonicalUtc(value)) return value;
  const ms = timestampMs(value);
  return ms === null ? null : isoFromMs(ms);
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** 9999-12-31T23:59:59.999Z: beyond it `toISOString` writes `+YYYYYY`. */
const MAX_FOUR_DIGIT_YEAR_MS = 253402300799999;

/**
 * `new Date(ms).toISOString()` for an integral ms in years 1970–9999, without a Date: a Python
 * receiver's `isoformat()` times (`+00:00`, six fraction digits) are not canonical, so every such
 * line is formatted, and `toISOString` was ≈ 1.1 µs of it against ≈ 0.3 µs here. Other ms (before
 * 1970, beyond 9999, fractional) go to `toISOString`. Days to a civil date: H. Hinnant's
 * `civil_from_days`.
 */
export function isoFromMs(ms: number): string {
  if (!(ms >= 0 && ms <= MAX_FOUR_DIGIT_YEAR_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const d2 = TWO_DIGITS;
  return `${d2[Math.floor(year / 100)]}${d2[year % 100]}-${d2[month]}-${d2[day]}T${d2[hour]}:${d2[minute]}:${d2[second]}.${THREE_DIGITS[milli]}Z`;
}

const ZERO = 48;

/**
 * Bytes that may separate a date from its time (`T`, `t`, a space) and start a fraction of a
 * second (`.`, `,`), as tables: one read and one compare per time, where a chain of compares
 * (`c === 46 || c === 44`) ran its later ones only on the rarer forms, and code V8 had optimized
 * before such a time came had no type feedback for them and was thrown away when one did
 * (`--trace-deopt`: once per scanning thread on a mixed index).
 */
const TIME_SEPARATOR = new Uint8Array(256);
for (const c of 'Tt ') TIME_SEPARATOR[c.charCodeAt(0)] = 1;
const FRACTION_MARK = new Uint8Array(256);
for (const c of '.,') FRACTION_MARK[c.charCodeAt(0)] = 1;

/** The number of `count` ASCII digits at `from`, or -1 when one is not a digit. */
function digitsAt(b: Uint8Array, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = (b[i] as number) - ZERO;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The two ASCII digits at `at` as a number, or -1. */
function twoDigits(b: Uint8Array, at: number): number {
  const h = (b[at] as number) - ZERO;
  const l = (b[at + 1] as number) - ZERO;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

/** The four ASCII digits at `at` as a number, or -1. */
function fourDigits(b: Uint8Array, at: number): number {
  const h = twoDigits(b, at);
  const l = twoDigits(b, at + 2);
  return h >= 0 && l >= 0 ? h * 100 + l : -1;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;
const isSpace = (c: number | undefined) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * `wallMs` of the ASCII bytes [at, end): the byte-level index reader calls it on the bytes of a
 * string without decoding them. Surrounding ASCII whitespace is ignored.
 */
export function wallMsAt(b: Uint8Array, at: number, end: number): number {
  while (at < end && isSpace(b[at])) at++;
  while (end > at && isSpace(b[end - 1])) end--;
  if (end - at >= 10 && b[at + 4] === 45 /* - */ && isDigit(b[at])) return isoMsAt(b, at, end, 4);
  if (end - at >= 12 && (b[at] === 43 || b[at] === 45) && b[at + 7] === 45) return isoMsAt(b, at, end, 7);
  return epochStringMs(b, at, end);
}

/** A string of epoch seconds: `-?\d+(\.\d+)?`. */
function epochStringMs(b: Uint8Array, at: number, end: number): number {
  let p = at;
  if (b[p] === 45) p++;
  const intStart = p;
  while (p < end && isDigit(b[p])) p++;
  if (p === intStart) return Number.NaN;
  if (p < end && b[p] === 46 /* . */) {
    p++;
    const fracStart = p;
    while (p < end && isDigit(b[p])) p++;
    if (p === fracStart) return Number.NaN;
  }
  if (p !== end) return Number.NaN;
  return epochMs(Number(String.fromCharCode(...b.subarray(at, end))));
}

/**
 * An ISO-8601 date-time whose date's first '-' is at `at + dash` (4: `YYYY`, 7: `±YYYYYY`).
 * NaN when the bytes are not in the ISO shape, IMPOSSIBLE_TIME when a field is out of range.
 */
function isoMsAt(b: Uint8Array, at: number, end: number, dash: number): number {
  const d = at + dash; // the '-' before the month
  if (end - d < 6 || b[d + 3] !== 45) return Number.NaN;
  const p = d + 6; // after the day
  const hasTime = p < end;
  if (hasTime) {
    if (TIME_SEPARATOR[b[p] as number] !== 1) return Number.NaN;
    if (end - p < 6 || b[p + 3] !== 58 /* : */) return Number.NaN;
  }
  let hourMs: number;
  if (dash === 4 && hasTime && sameHour(b, at)) {
    // The date and hour were read (and found valid) on an earlier line.
    hourMs = lastHourMs;
  } else {
    let year = dash === 4 ? fourDigits(b, at) : digitsAt(b, at + 1, 6);
    if (year < 0) return Number.NaN;
    if (dash === 7 && b[at] === 45) {
      // ISO forbids "-000000"; Date.parse too.
      if (year === 0) return Number.NaN;
      year = -year;
    }
    const month = twoDigits(b, d + 1);
    const day = twoDigits(b, d + 4);
    const hour = hasTime ? twoDigits(b, p + 1) : 0;
    if (month < 0 || day < 0 || hour < 0) return Number.NaN;
    if (month < 1 || month > 12 || day < 1 || day > monthDays(year, month) || hour > 23) {
      // The rest must still be in the shape for this to be an impossible time, not no time.
      return Number.isNaN(restMs(b, p, end, hasTime)) ? Number.NaN : IMPOSSIBLE_TIME;
    }
    hourMs = utcMs(year, month, day, hour);
    if (dash === 4 && hasTime) {
      for (let k = 0; k < 13; k++) lastHour[k] = b[at + k] as number;
      lastHourMs = hourMs;
    }
  }
  const rest = restMs(b, p, end, hasTime);
  if (!Number.isFinite(rest)) return rest;
  const total = hourMs + rest;
  return Math.abs(total) <= MAX_MS ? total : Number.NaN;
}

/**
 * What the time of day from `p` (at the separator, or at the end without a time) adds to its
 * hour: minutes, seconds, the fraction, minus the offset; NaN when not in the shape,
 * IMPOSSIBLE_TIME when a field is out of range.
 */
function restMs(b: Uint8Array, p: number, end: number, hasTime: boolean): number {
  if (!hasTime) return 0;
  const minute = twoDigits(b, p + 4);
  if (minute < 0) return Number.NaN;
  p += 6;
  let second = 0;
  let milli = 0;
  if (p < end && b[p] === 58) {
    if (end - p < 3) return Number.NaN;
    second = twoDigits(b, p + 1);
    if (second < 0) return Number.NaN;
    p += 3;
    if (p < end && FRACTION_MARK[b[p] as number] === 1) {
      p++;
      const from = p;
      while (p < end && isDigit(b[p])) p++;
      if (p === from) return Number.NaN;
      for (let k = 0; k < 3; k++) milli = milli * 10 + (from + k < p ? (b[from + k] as number) - ZERO : 0);
    }
  }
  let offsetMinutes = 0;
  if (p < end) {
    offsetMinutes = zoneMinutes(b, p, end);
    if (Number.isNaN(offsetMinutes)) return Number.NaN;
  }
  if (minute > 59 || second > 59 || offsetMinutes === IMPOSSIBLE_TIME) return IMPOSSIBLE_TIME;
  return minute * 60_000 + second * 1000 + milli - offsetMinutes * 60_000;
}

/**
 * The zone at [p, end): `Z`, `±HH:MM[:SS[.ffffff]]`, `±HHMM` or `±HH`, in minutes east of UTC
 * (seconds of an offset are kept as a fraction); NaN when not a zone, IMPOSSIBLE_TIME when out
 * of range.
 */
function zoneMinutes(b: Uint8Array, p: number, end: number): number {
  const len = end - p;
  if (len === 1 && (b[p] === 90 || b[p] === 122)) return 0;
  const sign = b[p] === 43 ? 1 : b[p] === 45 ? -1 : 0;
  if (sign === 0) return Number.NaN;
  const hours = twoDigits(b, p + 1);
  let minutes = 0;
  let seconds = 0;
  if (len === 3) {
    // ±HH
  } else if (len === 5) {
    minutes = twoDigits(b, p + 3);
  } else if (len >= 6 && b[p + 3] === 58) {
    minutes = twoDigits(b, p + 4);
    if (len > 6) {
      // Python writes seconds (and microseconds) of an offset that has them.
      if (len < 9 || b[p + 6] !== 58) return Number.NaN;
      seconds = twoDigits(b, p + 7);
      if (len > 9) {
        if (b[p + 9] !== 46 || len === 10) return Number.NaN;
        for (let q = p + 10; q < end; q++) if (!isDigit(b[q])) return Number.NaN;
        const micros = digitsAt(b, p + 10, Math.min(6, end - p - 10)) * 10 ** (6 - Math.min(6, end - p - 10));
        seconds += micros / 1e6;
      }
    }
  } else return Number.NaN;
  if (hours < 0 || minutes < 0 || seconds < 0) return Number.NaN;
  if (hours > 23 || minutes > 59 || seconds >= 60) return IMPOSSIBLE_TIME;
  return sign * (hours * 60 + minutes + seconds / 60);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Days before each month's first in a common year. */
const MONTH_START = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function monthDays(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : (MONTH_DAYS[month - 1] as number);
}

/** `utcMs`'s last year (0–9999) and the days from the epoch to its first day. */
let lastYear = -1;
let lastYearDays = 0;

/**
 * Epoch ms of the start of an hour (fields in range). Years 0–9999 from the days before the year
 * (kept for the last year read: an index spans a year or two) and before the month, not
 * `Date.UTC`, a call into the runtime: the last hour's cache (`sameHour`) misses on most lines of
 * a receiver writing local times with offsets (the mixed and foreign indexes), whose hour's bytes
 * change line to line (with `twoDigits` for the fields, a mixed index's ISO times 81 → 68 ns each).
 */
export function utcMs(year: number, month: number, day: number, hour: number): number {
  if (year >= 0 && year <= 9999) {
    if (year !== lastYear) {
      // Days from 1970-01-01 to the year's first day (proleptic Gregorian, the year as written).
      lastYearDays =
        365 * (year - 1970) +
        Math.floor((year - 1969) / 4) -
        Math.floor((year - 1901) / 100) +
        Math.floor((year - 1601) / 400);
      lastYear = year;
    }
    const days =
      lastYearDays + (MONTH_START[month - 1] as number) + (month > 2 && isLeap(year) ? 1 : 0) + day - 1;
    return days * 86_400_000 + hour * 3_600_000;
  }
  // Beyond 0–9999 (`±YYYYYY`): Date.UTC reads those years as written (only 0–99 it would not).
  return Date.UTC(year, month - 1, day, hour);
}

/**
 * The last hour read (`YYYY-MM-DD?HH`) and its epoch ms. An index is written in time order, so
 * most lines share the previous line's hour: its date and hour are then compared, not read.
 * Keyed by the bytes themselves (the separator at 10 aside), so never stale.
 */
const lastHour = new Uint8Array(13);
let lastHourMs = Number.NaN;

/**
 * Whether the 13 bytes at `at` spell the last hour read (the separator at 10 aside). Every byte is
 * read on every call, not in a short-circuit chain: a chain's later reads ran only once a line
 * matched the earlier ones, and code V8 had optimized before such a line (a receiver writing local
 * times with varied offsets) had no type feedback for them and was thrown away when one came
 * (`--trace-deopt`, once per thread that scans).
 */
function sameHour(b: Uint8Array, at: number): boolean {
  const h = lastHour;
  const differ =
    ((b[at] as number) ^ (h[0] as number)) |
    ((b[at + 1] as number) ^ (h[1] as number)) |
    ((b[at + 2] as number) ^ (h[2] as number)) |
    ((b[at + 3] as number) ^ (h[3] as number)) |
    ((b[at + 5] as number) ^ (h[5] as number)) |
    ((b[at + 6] as number) ^ (h[6] as number)) |
    ((b[at + 8] as number) ^ (h[8] as number)) |
    ((b[at + 9] as number) ^ (h[9] as number)) |
    ((b[at + 11] as number) ^ (h[11] as number)) |
    ((b[at + 12] as number) ^ (h[12] as number));
  return differ === 0 && !Number.isNaN(lastHourMs);
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ` with fields in range: exactly what `toISOString()` prints. */
export function isCanonicalUtc(s: string): boolean {
  return !Number.isNaN(canonicalUtcMs(s));
}

/** Epoch ms of a canonical UTC string (`isCanonicalUtc`), NaN for anything else. */
export function canonicalUtcMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(23) !== 90 /* Z */) return Number.NaN;
  for (let i = 0; i < 24; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return Number.NaN;
    scratch[i] = c;
  }
  return canonicalUtcMsAt(scratch, 0);
}

/** `canonicalUtcMs` of the 24 bytes at `at` (ASCII), without decoding them to a string. */
export function canonicalUtcMsAt(b: Uint8Array, at: number): number {
  if (b[at + 23] !== 90 /* Z */ || b[at + 10] !== 84 /* T */) return Number.NaN;
  if (b[at + 4] !== 45 || b[at + 7] !== 45 || b[at + 13] !== 58 || b[at + 16] !== 58 || b[at + 19] !== 46)
    return Number.NaN;
  const ms = isoMsAt(b, at, at + 24, 4);
  return Number.isFinite(ms) ? ms : Number.NaN;
}
