import { formatWall } from './records.js';
import type { Rng } from './rng.js';
import { isoUtc } from './wall.js';

/**
 * How JSONL lines are written. A real receiver is a Python program (`json.dumps`); the styles let
 * the generator and the demo write what the dashboard meets in the field:
 * - `compact`: `{"episode_id":"…",…}`, no spaces, a fixed key order (what JSON.stringify writes);
 * - `python`: `json.dumps(record)` — `", "` and `": "` separators, non-ASCII as `\uXXXX`
 *   (ensure_ascii), times from `datetime.isoformat()` (`…T…​.ffffff+00:00`) or `time.time()`;
 * - `mixed`: per line, either separator style, shuffled key orders, extra keys of every JSON type
 *   (nested objects and arrays, escapes, surrogate pairs, `NaN`, `Infinity`), and every time form
 *   a Python receiver may write (isoformat with and without an offset and a fraction, a space for
 *   the `T`, `Z`, epoch ints and floats).
 */
export const LINE_STYLES = ['compact', 'python', 'mixed'] as const;
export type LineStyle = (typeof LINE_STYLES)[number];

/** A JSON string as Python's `json.dumps` writes it with `ensure_ascii=True`. */
export function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += s[i];
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/**
 * `json.dumps(value)` (Python's separators unless `compact`): floats as Python writes them,
 * `NaN` and `±Infinity` included.
 */
export function pyDumps(value: unknown, compact = false): string {
  const [comma, colon] = compact ? [',', ':'] : [', ', ': '];
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${value.map((v) => pyDumps(v, compact)).join(comma)}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${pyString(k)}${colon}${pyDumps(v, compact)}`).join(comma)}}`;
}

/** A record as one JSONL line (with `\n`) in `style`; `rng` draws the mixed style's variations. */
export function formatLine(style: LineStyle, record: object, rng?: Rng): string {
  if (style === 'compact') return `${JSON.stringify(record)}\n`;
  if (style === 'python' || rng === undefined) return `${pyDumps(record)}\n`;
  let entries = Object.entries(record);
  if (rng.chance(0.5)) entries = shuffled(entries, rng);
  if (rng.chance(0.4)) {
    const extra = rng.pick(EXTRAS);
    entries.splice(rng.int(0, entries.length), 0, extra);
  }
  return `${pyDumps(Object.fromEntries(entries), rng.chance(0.3))}\n`;
}

function shuffled<T>(items: T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Extra keys a receiver (a newer one, another site's) may add: every JSON type. */
const EXTRAS: ReadonlyArray<[string, unknown]> = [
  ['receiver', 'rx-01'],
  ['attempt', 2],
  ['verified', true],
  ['note', null],
  ['upload_seconds', 12.5],
  ['throughput_mbps', Number.NaN],
  ['lag_seconds', Number.POSITIVE_INFINITY],
  ['clock_offset', Number.NEGATIVE_INFINITY],
  ['ratio', 1.5e-7],
  ['site', 'Zürich lab — bench 3 😀'],
  ['path_note', 'a\\b "quoted"\ttab\u2028sep'],
  ['meta', { shipper: 'cis490-shipper 1.8.2', tags: ['a', 'ß'], retries: [1, 2.5, null, false] }],
  ['empty', {}],
  ['list', []],
];

/**
 * A wall time at `ms` as a receiver in `style` writes it. compact: `formatWall` (mostly
 * `toISOString()`); python: `datetime.isoformat()` of an aware UTC datetime (microseconds below
 * the millisecond drawn), now and then `time.time()`; mixed: any form Python writes.
 */
export function wallAs(style: LineStyle, ms: number, rng: Rng): string | number {
  if (style === 'compact') return formatWall(ms, rng);
  const iso = isoUtc(ms); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const micros = `${iso.slice(20, 23)}${String(rng.int(0, 999)).padStart(3, '0')}`;
  // isoformat() leaves the fraction out when the microseconds are 0.
  const pyFraction = micros === '000000' ? '' : `.${micros}`;
  if (style === 'python')
    return rng.chance(0.15) ? Math.floor(ms) / 1000 : `${iso.slice(0, 19)}${pyFraction}+00:00`;
  // Every form names the same millisecond: without a fraction only on a whole second.
  const whole = ms % 1000 === 0;
  const fraction = whole && rng.chance(0.5) ? '' : rng.chance(0.5) ? `.${iso.slice(20, 23)}` : pyFraction;
  switch (rng.int(0, 6)) {
    case 0:
      return `${iso.slice(0, 19)}${fraction}`; // naive: UTC
    case 1:
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}+00:00`; // str(datetime)
    case 2:
      return `${iso.slice(0, 19)}${fraction}Z`;
    case 3: {
      // The same instant in another zone.
      const offset = rng.pick([330, -480, 60, -210, 765]);
      const local = isoUtc(ms + offset * 60_000);
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset);
      const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      return `${local.slice(0, 19)}${fraction}${zone}`;
    }
    case 4:
    case 5:
      return Math.floor(ms) / 1000; // epoch seconds: an int on a whole second, else a float
    default:
      return `${iso.slice(0, 19)}${pyFraction}+00:00`;
  }
}
