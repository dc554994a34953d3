/**
 * Number, size and time formatting. Fixed to en-US digits so a wall display, a phone and the tests
 * all read "1,234,567" the same way.
 */
import { isDatedInFuture } from '../../protocol/future.js';
import { parts } from './timezone.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** 1234567 → "1,234,567". */
export function formatCount(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? integer.format(n) : '—';
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary units: 13207024435 → "12.3 GiB"; under 1 KiB in bytes. */
export function formatBytes(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  let value = Math.abs(n);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const sign = n < 0 ? '-' : '';
  return unit === 0
    ? `${sign}${integer.format(value)} B`
    : `${sign}${oneDecimal.format(value)} ${UNITS[unit]}`;
}

/** 0.4234 → "42.3%". */
export function formatPercent(fraction: number): string {
  return `${oneDecimal.format(fraction * 100)}%`;
}

/** A duration in seconds: "42 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** A precise duration for phase timelines: "1.25 s", "3 min 4 s". */
export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${oneDecimal.format(seconds)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${rest} s` : formatDuration(seconds);
}

/**
 * "just now", "42 s ago", "3 min ago", "2 h ago", "5 d ago". A time up to a minute ahead of our
 * clock (skew) is "just now", never "in 6 s"; further ahead it is flagged as dated in the future.
 */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown';
  if (isDatedInFuture(t, now)) return `dated in the future (${formatDateTime(iso)})`;
  const diff = (now - t) / 1000;
  if (diff < 5) return 'just now';
  return `${formatDuration(diff)} ago`;
}

const pad = (v: number): string => String(v).padStart(2, '0');

/**
 * The one time format of the app, 24-hour, in the zone the top bar shows (local or UTC):
 * "2026-05-08 13:04:36".
 */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = parts(d);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/** Chart ticks in the same format, shortened: "13:04" within a day, "05-08 13:04" beyond. */
export function formatTick(ms: number, spanMs: number): string {
  const p = parts(new Date(ms));
  const hm = `${pad(p.h)}:${pad(p.mi)}`;
  return spanMs <= 86_400_000 ? hm : `${pad(p.mo)}-${pad(p.d)} ${hm}`;
}

/** Wall-clock time in the chosen zone: "14:02:11". */
export function formatTime(ms: number): string {
  const p = parts(new Date(ms));
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/** First `n` hex digits of a hash, for narrow columns. */
export function shortHash(hash: string | null | undefined, n = 12): string {
  return hash ? hash.slice(0, n) : '—';
}

/** "1 label", "3 labels", "1,234 labels". */
export function formatPlural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
