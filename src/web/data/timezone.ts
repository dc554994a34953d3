import { useSyncExternalStore } from 'react';

/**
 * Which clock every time on screen is in: the browser's local zone (default) or UTC. One setting
 * (localStorage `cis490.tz`), read by every formatter in `format.ts`, toggled in the top bar.
 */
export type TimeZoneMode = 'local' | 'utc';

const KEY = 'cis490.tz';
let mode: TimeZoneMode = globalThis.localStorage?.getItem(KEY) === 'utc' ? 'utc' : 'local';
const listeners = new Set<() => void>();

export function timeZoneMode(): TimeZoneMode {
  return mode;
}

export function setTimeZoneMode(next: TimeZoneMode): void {
  mode = next;
  globalThis.localStorage?.setItem(KEY, next);
  for (const l of listeners) l();
}

/** A zone name that is UTC by another name: the browser's own zone then reads "UTC (local)". */
const UTC_NAMES = /^(Etc\/)?(UTC|UCT|GMT|GMT0|Zulu|Universal|Greenwich)$/;

/**
 * "UTC" or the browser's zone name ("Europe/Berlin", "UTC+01:00" when it has none). A browser
 * whose own zone is UTC (a wall display's Pi often is) reads "UTC (local)": "UTC" both ways made
 * the switch look broken.
 */
export function timeZoneLabel(m: TimeZoneMode = mode): string {
  if (m === 'utc') return 'UTC';
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (name && UTC_NAMES.test(name)) return `${name} (local)`;
  if (name) return name;
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function useTimeZoneMode(): TimeZoneMode {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => mode,
    () => mode,
  );
}

/** The date parts of `d` in the current mode. */
export function parts(d: Date): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  return mode === 'utc'
    ? {
        y: d.getUTCFullYear(),
        mo: d.getUTCMonth() + 1,
        d: d.getUTCDate(),
        h: d.getUTCHours(),
        mi: d.getUTCMinutes(),
        s: d.getUTCSeconds(),
      }
    : {
        y: d.getFullYear(),
        mo: d.getMonth() + 1,
        d: d.getDate(),
        h: d.getHours(),
        mi: d.getMinutes(),
        s: d.getSeconds(),
      };
}
